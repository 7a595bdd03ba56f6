"""Resume checks everything it recorded, and state.pt is verified before use: other data
(path, classes, image counts) is E1003 naming the data, with a hint that works; a damaged
state.pt fails its checksum (E1041, naming the last good weights); a crafted one (missing keys,
wrong types, epoch 1e9) is E1042; a state.pt from before checksums resumes."""

from __future__ import annotations

import random
import shutil

import pytest
import torch
from support.training import SMALL_RUN, train, write_image_folder, write_spec

from spachc.diagnostics import UserError
from spachc.train.run_folder import (CHECKSUM_KEY, CheckpointDamaged, CheckpointMalformed, read_state,
                                     state_checksum)

RUN = ["--epochs", "2", "--workers", "0", *SMALL_RUN]


@pytest.fixture(scope="module")
def stopped_run(tmp_path_factory):
    """A run on folder `a` stopped after its first of two epochs, and a second folder `b`."""
    root = tmp_path_factory.mktemp("resume")
    a = write_image_folder(root / "a")
    b = write_image_folder(root / "b")
    spec = write_spec(root)
    run = root / "run"
    first = train(spec, a, run, *RUN, "--stop-after", "1")
    assert first.returncode == 0, first.stderr
    return root, a, b, spec, run


def copy_run(run, tmp_path):
    target = tmp_path / "run"
    shutil.copytree(run, target)
    return target


def resume(run, *args):
    from support.cli import env, spachc_cmd
    from support.paths import REPO
    import subprocess

    return subprocess.run(spachc_cmd("train", "--resume", "--out", str(run), "--device", "cpu", *args),
                          capture_output=True, text=True, timeout=300, env=env(), cwd=REPO)


def test_resume_on_other_data_is_refused_naming_it_and_the_hint_works(stopped_run, tmp_path):
    _, a, b, _, run = stopped_run
    run = copy_run(run, tmp_path)
    other = resume(run, "--data", str(b))
    assert other.returncode == 1, other.stderr
    assert f"error[E1003]: {run}: the run trained on data '{a}', not '{b}'" in other.stderr, other.stderr
    digits = resume(run, "--data", "digits")  # 10 classes, not 3: still the data named, not E1001's `--set classes`
    assert digits.returncode == 1 and "error[E1003]" in digits.stderr and "'digits'" in digits.stderr, digits.stderr
    assert "--set classes" not in digits.stderr
    assert f"`spachc train --resume --out {run}` alone" in other.stderr
    alone = resume(run)  # what the hint says
    assert alone.returncode == 0, alone.stderr
    assert "resuming" in alone.stdout and "done: val top-1" in alone.stdout


def test_resume_after_the_data_changed_in_place_is_refused(stopped_run, tmp_path):
    root, a, _, spec, _ = stopped_run
    data = tmp_path / "data"
    shutil.copytree(a, data)
    run = tmp_path / "run"
    assert train(spec, data, run, *RUN, "--stop-after", "1").returncode == 0
    extra = data / "train" / "checker" / "extra.png"
    shutil.copy(data / "train" / "checker" / "000.png", extra)
    changed = resume(run)
    assert changed.returncode == 1, changed.stderr
    assert "error[E1003]" in changed.stderr and "changed since the run started: train images per class [16, 16, 16]" \
        " then (48 in all), [17, 16, 16] now (49 in all)" in changed.stderr, changed.stderr
    extra.unlink()
    assert resume(run).returncode == 0


def _tamper(run, change) -> None:
    state = torch.load(run / "state.pt", weights_only=True)
    change(state)
    torch.save(state, run / "state.pt")


def test_a_flipped_bit_in_a_tensor_fails_the_checksum_and_names_the_last_good_weights(stopped_run, tmp_path):
    run = copy_run(stopped_run[4], tmp_path)

    def flip(state):
        tensor = next(iter(state["model"].values()))
        tensor.view(torch.int32).view(-1)[0] ^= 1 << 3

    _tamper(run, flip)
    with pytest.raises(CheckpointDamaged):
        read_state(run / "state.pt")
    proc = resume(run)
    assert proc.returncode == 1 and "Traceback" not in proc.stderr, proc.stderr
    assert f"error[E1041]: {run / 'state.pt'} is damaged" in proc.stderr, proc.stderr
    assert f"The last good weights (the last finished epoch) are in {run / 'last.safetensors'}" in proc.stderr


@pytest.mark.parametrize("change, words", [
    (lambda s: s.pop("optimizer"), "no 'optimizer' entry"),
    (lambda s: s.update(epoch="1"), "'epoch' is a str"),
    (lambda s: s.update(epoch=10 ** 9), "'epoch' 1000000000 is outside 0..2"),
    (lambda s: s.update(history=[]), "'history' holds 0 epoch records, not 1"),
    (lambda s: s.update(model=[1, 2]), "'model' is a list"),
    (lambda s: s.update(partial={"loss_sum": 1.0}), "'partial' is not {loss_sum, count}"),
    (lambda s: s.update(torch_rng=torch.zeros(3)), "'torch_rng' is not a random generator state"),
], ids=["missing", "wrong-type", "epoch-1e9", "history", "model-list", "partial", "rng"])
def test_crafted_state_files_are_coded_errors(stopped_run, tmp_path, change, words):
    run = copy_run(stopped_run[4], tmp_path)

    def craft(state):
        change(state)
        state[CHECKSUM_KEY] = state_checksum(state)  # crafted consistently: the checksum cannot catch it

    _tamper(run, craft)
    with pytest.raises(CheckpointMalformed, match=words.replace("(", r"\(").replace("{", r"\{")):
        read_state(run / "state.pt")


def test_crafted_epoch_is_never_marked_finished(stopped_run, tmp_path):
    run = copy_run(stopped_run[4], tmp_path)
    _tamper(run, lambda s: (s.update(epoch=10 ** 9), s.pop(CHECKSUM_KEY)))
    before = (run / "result.json").read_text()  # the stopped run's: 1 of 2 epochs
    proc = resume(run)
    assert proc.returncode == 1 and "error[E1042]" in proc.stderr and "Traceback" not in proc.stderr, proc.stderr
    assert "finished" not in proc.stdout
    assert (run / "result.json").read_text() == before


def test_a_state_file_without_a_checksum_still_resumes_with_a_note(stopped_run, tmp_path):
    run = copy_run(stopped_run[4], tmp_path)
    _tamper(run, lambda s: s.pop(CHECKSUM_KEY))
    assert read_state(run / "state.pt")["checksum_verified"] is False
    proc = resume(run)
    assert proc.returncode == 0, proc.stderr
    assert "has no checksum (written by an earlier spachc); resumed without verifying it" in proc.stdout
    assert read_state(run / "state.pt")["checksum_verified"] is True  # the next commit records one


def test_random_bit_flips_in_state_files_are_always_coded(stopped_run, tmp_path):
    """The quick state.pt fuzzer (benchmarks/fuzz_state.py runs it long): one flipped bit anywhere
    in the file is a coded error or, where the bit does not reach the contents (zip padding, a
    name's case in a record torch ignores), the identical state. Never another exception."""
    original = (stopped_run[4] / "state.pt").read_bytes()
    reference = read_state(stopped_run[4] / "state.pt")
    rng = random.Random(2026)
    path = tmp_path / "state.pt"
    outcomes = {"coded": 0, "same": 0}
    for _ in range(40):
        data = bytearray(original)
        bit = rng.randrange(len(data) * 8)
        data[bit // 8] ^= 1 << (bit % 8)
        path.write_bytes(bytes(data))
        try:
            state = read_state(path)
        except UserError as exc:
            assert exc.code in {"E1003", "E1041", "E1042"}, exc
            outcomes["coded"] += 1
            continue
        assert state_checksum(state) == state_checksum(reference)
        outcomes["same"] += 1
    assert outcomes["coded"] + outcomes["same"] == 40


@pytest.mark.parametrize("key", ["format", "version"])
def test_header_entries_crafted_as_tensors_are_coded(stopped_run, tmp_path, key):
    """Found by benchmarks/fuzz_robust.py: a tensor `version` reached a tensor comparison
    (RuntimeError: Boolean value of Tensor with more than one value is ambiguous)."""
    from spachc.train.run_folder import CheckpointReadError, is_state_file

    run = copy_run(stopped_run[4], tmp_path)
    _tamper(run, lambda s: s.update({key: torch.zeros(2)}))
    with pytest.raises(CheckpointReadError):
        read_state(run / "state.pt")
    assert is_state_file(run / "state.pt") == (key == "version")


def test_resume_where_amp_auto_would_pick_another_precision_is_refused(stopped_run, tmp_path):
    run = copy_run(stopped_run[4], tmp_path)
    assert torch.load(run / "state.pt", weights_only=True)["precision"] == "fp32"  # tiny steps: auto is fp32

    def elsewhere(state):  # as if trained where `--amp auto` chose bf16 (a GPU, or steps of 1 GMAC+)
        state["precision"] = "bf16"
        state[CHECKSUM_KEY] = state_checksum(state)

    _tamper(run, elsewhere)
    proc = resume(run)
    assert proc.returncode == 1, proc.stderr
    assert "error[E1003]" in proc.stderr and "Traceback" not in proc.stderr
    assert "the run trained in bf16 (--amp auto on its machine), but here it would train in fp32" in proc.stderr
