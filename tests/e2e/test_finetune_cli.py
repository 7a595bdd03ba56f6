"""`spachc train --init`: fine-tuning from every model source, layer decay, freezing, resume,
and each coded mistake, with the real CLI in subprocesses on real data (the built-in digits and
animals, and PNG folders written with PIL)."""

from __future__ import annotations

import json
import re
import shlex

import numpy as np
import pytest
import torch
from PIL import Image
from support.cli import run_cli
from support.training import assert_same_weights, load_tensors, metrics, train, write_image_folder, write_spec

import spachc

# No `classes`: the data decides (10 for digits and animals, 3 for the PNG folder).
TINY = """\
model tiny
input 16 channels 1
stem conv1 patch 4
defaults heads 2
stage conv x1 dim 8
-> down -> stage conv x1, trans x1
"""
WIDER = TINY.replace("dim 8", "dim 12")  # the same network but for the first stage's width
GRID_TIED = "model gt\ninput 16 channels 1\nstem conv1 patch 4\nstage mlp x1 dim 8 token_ratio 0.5\n"
FOLDER_RUN = ["--recipe", "finetune", "--batch-size", "8", "--workers", "0", "--log-every", "1"]


@pytest.fixture(scope="module")
def work(tmp_path_factory):
    return tmp_path_factory.mktemp("finetune")


@pytest.fixture(scope="module")
def spec(work):
    return write_spec(work, TINY)


@pytest.fixture(scope="module")
def folder(work):
    return write_image_folder(work / "shapes")


@pytest.fixture(scope="module")
def digits_run(work, spec):
    """The model to start from: one epoch on the built-in digits."""
    out = work / "digits"
    proc = train(spec, "digits", out, "--recipe", "quick", "--epochs", "1", "--batch-size", "64", "--workers", "0")
    assert proc.returncode == 0, proc.stderr
    return out


@pytest.fixture(scope="module")
def animals_run(work, spec, digits_run):
    """The fine-tuning walk-through: fine-tune the digits run on animals for 2 epochs."""
    out = work / "animals"
    proc = train(spec, "animals", out, "--init", str(digits_run), "--epochs", "2", "--recipe", "finetune",
                 "--batch-size", "128", "--workers", "0")
    assert proc.returncode == 0, proc.stderr
    return out, proc


def _tensor_count(spec_text: str, classes: int) -> int:
    return len(spachc.build(spachc.parse(spec_text, overrides=[f"classes={classes}"])).state_dict())


def test_digits_to_animals_says_what_it_kept_and_reset_and_learns(animals_run):
    out, proc = animals_run
    kept = _tensor_count(TINY, 10) - 2
    assert f"init from {out.parent / 'digits'} (training run folder, spec 'tiny'): loaded {kept} tensors" in proc.stdout
    # digits and animals both have 10 classes: the head is reset because the class names differ
    assert ("re-initialised 2 (the data's class names differ from the model's): head.weight, head.bias"
            in proc.stdout)
    assert "left out 2: head.bias, head.weight" in proc.stdout
    run = json.loads((out / "run.json").read_text())
    assert run["init"]["source"] == str(out.parent / "digits") and run["init"]["loaded"] == kept
    assert run["init"]["reset"] == ["head.bias", "head.weight"]
    assert run["recipe"]["layer_decay"] == 0.75 and run["recipe"]["epochs"] == 2
    rows = metrics(out)
    assert rows[-1]["train_loss"] < rows[0]["train_loss"]
    assert max(r["val_top1"] for r in rows) > 15.0  # chance is 10%


def test_fine_tuned_run_folder_predicts_animals_and_evaluates_with_their_preprocessing(animals_run, work):
    out, _ = animals_run
    from spachc.datasets.data import ANIMALS_FILE, ANIMALS_NORM

    archive = np.load(ANIMALS_FILE)
    image = work / "animal.png"
    Image.fromarray(archive["images"][0]).save(image)
    proc = run_cli("predict", str(out), str(image), "--json", "--top-k", "10")
    assert proc.returncode == 0, proc.stderr
    result = json.loads(proc.stdout)
    assert {t["label"] for t in result["predictions"][0]["top"]} == {str(c) for c in archive["classes"]}
    assert result["preprocessing"]["mean"] == list(ANIMALS_NORM.mean)
    proc = run_cli("eval", str(out), "--data", "animals", "--json", "--device", "cpu")
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["top1"] == pytest.approx(max(r["val_top1"] for r in metrics(out)), abs=1e-9)


def test_every_model_source_loads_the_same_tensors_and_the_head_starts_afresh(digits_run):
    """A run folder, its best .safetensors, its state.pt (one epoch: best == last) and a model
    folder written by `spachc save` give the same weights; only head.* keep the new init."""
    from spachc.train.init import plan_init, read_model_source

    saved = digits_run.parent / "saved"
    assert (p := run_cli("save", str(digits_run), str(saved))).returncode == 0, p.stderr
    target = spachc.parse(TINY, overrides=["classes=3"])
    trained = load_tensors(digits_run / "best.safetensors")
    for source in (digits_run, digits_run / "best.safetensors", digits_run / "state.pt", saved):
        plan = plan_init(read_model_source(source), target, ("a", "b", "c"))
        torch.manual_seed(0)
        model = spachc.build(target)
        fresh = {k: v.clone() for k, v in model.state_dict().items()}
        plan.apply(model)
        for name, tensor in model.state_dict().items():
            expected = fresh[name] if name.startswith("head.") else trained[name]
            assert torch.equal(tensor, expected), (source, name)
        assert sorted(plan.reset) == ["head.bias", "head.weight"] and plan.reset["head.weight"] == "classes 10 -> 3"


def _to_official(spec, state: dict) -> dict:
    """spachc names -> the paper's (spachc/nn/upstream.py), layer scales as its 1x1xC."""
    from spachc.nn.upstream import upstream_key

    return {upstream_key(spec, k): (v.reshape(1, 1, -1) if k.endswith("layer_scale") else v)
            for k, v in state.items()}


def test_official_checkpoint_with_and_without_init_spec(digits_run, spec, folder, work):
    spec10 = spachc.parse(TINY, overrides=["classes=10"])
    pth = work / "official.pth"
    torch.save({"model": _to_official(spec10, load_tensors(digits_run / "best.safetensors"))}, pth)
    own = write_spec(work, TINY.replace("stem conv1", "classes 10\nstem conv1"), "tiny10.spach")
    kept = _tensor_count(TINY, 3) - 2
    for extra, how in (((), "tiny"), (("--init-spec", str(own)), "tiny")):
        out = work / f"official{len(extra)}"
        proc = train(spec, folder, out, "--init", str(pth), *extra, "--epochs", "1", *FOLDER_RUN)
        assert proc.returncode == 0, proc.stderr
        assert f"(official checkpoint, spec '{how}'): loaded {kept} tensors" in proc.stdout
        assert "re-initialised 2 (classes 10 -> 3): head.weight, head.bias" in proc.stdout
        trained = load_tensors(digits_run / "best.safetensors")
        state = torch.load(out / "state.pt", weights_only=True)
        assert state["init"]["kind"] == "official checkpoint" and state["init"]["loaded"] == kept
        assert set(trained) == set(state["model"])


@pytest.fixture(scope="module")
def decayed_runs(work, spec, folder, digits_run):
    """Layer decay 0.5 with the stem frozen: 2 epochs in one go, and 1 + --resume for 1 more."""
    args = ("--init", str(digits_run), "--layer-decay", "0.5", "--freeze", "stem", "--epochs", "2", *FOLDER_RUN)
    whole, split = work / "whole", work / "split"
    assert (p := train(spec, folder, whole, *args)).returncode == 0, p.stderr
    assert (p := train(spec, folder, split, *args, "--stop-after", "1")).returncode == 0, p.stderr
    return whole, split


def test_resume_of_a_fine_tuning_run_is_exact_without_init(decayed_runs, spec, folder):
    whole, split = decayed_runs
    proc = train(spec, folder, split, "--resume", "--workers", "0")
    assert proc.returncode == 0, proc.stderr
    assert "resuming" in proc.stdout and "init from" not in proc.stdout
    assert_same_weights(whole / "last.safetensors", split / "last.safetensors")
    assert metrics(whole) == metrics(split)
    assert torch.load(split / "state.pt", weights_only=True)["init"]["source"].endswith("digits")


def test_resume_with_another_init_is_refused(decayed_runs, spec, folder, work):
    whole, _ = decayed_runs
    proc = train(spec, folder, whole, "--resume", "--init", str(work / "animals"))
    assert proc.returncode == 1 and "error[E1025]" in proc.stderr and "resume without --init" in proc.stderr


def test_layer_decay_gives_each_depth_its_lr(decayed_runs):
    """tiny has 5 layers: stem 0, stage 1's block 1, stage 2's downsample + block 1 2, its block 2
    + head_norm 3, head 4; lr x 0.5 per layer below the head; the frozen stem has no group."""
    whole, _ = decayed_runs
    state = torch.load(whole / "state.pt", weights_only=True)
    groups = state["optimizer"]["param_groups"]
    assert sorted({g["layer"] for g in groups}) == [1, 2, 3, 4]
    head_lr = groups[-1]["lr"]
    assert head_lr == pytest.approx(metrics(whole)[-1]["lr"])
    for g in groups:
        assert g["lr_scale"] == 0.5 ** (4 - g["layer"])
        assert g["lr"] == pytest.approx(head_lr * 0.5 ** (4 - g["layer"]), rel=1e-12)
        assert g["weight_decay"] in (0.0, 0.05)
    model = spachc.build(spachc.parse(TINY, overrides=["classes=3"]))
    shapes = {tuple(state["optimizer"]["state"][i]["exp_avg"].shape) for g in groups if g["layer"] == 4
              for i in g["params"]}
    assert shapes == {tuple(model.head.weight.shape), tuple(model.head.bias.shape)}


def test_linear_probe_trains_only_the_head(work, spec, folder, digits_run):
    out = work / "probe"
    proc = train(spec, folder, out, "--init", str(digits_run), "--freeze", "backbone", "--epochs", "1", *FOLDER_RUN)
    assert proc.returncode == 0, proc.stderr
    state = torch.load(out / "state.pt", weights_only=True)
    assert len(state["optimizer"]["state"]) == 2  # head.weight and head.bias, nothing else
    trained, probe = load_tensors(digits_run / "best.safetensors"), load_tensors(out / "last.safetensors")
    assert all(torch.equal(probe[k], trained[k]) for k in probe if not k.startswith("head."))
    assert probe["head.weight"].abs().sum() > 0
    total = sum(t.numel() for t in probe.values())
    head = probe["head.weight"].numel() + probe["head.bias"].numel()
    said = f"--freeze backbone: {len(probe) - 2} tensors frozen ({total - head:,} of {total:,} parameters); {head:,}"
    assert said in proc.stdout, proc.stdout


# --- mistakes: one coded error each, with a hint that runs -----------------------------------------

def _hint_command(stderr: str) -> list[str]:
    line = next(line for line in stderr.splitlines() if "hint:" in line and "spachc train" in line)
    return shlex.split(line[line.index("spachc train"):].split(" (or ")[0])[1:]


def test_grid_tied_spec_at_another_size_is_refused_and_the_hint_runs(work, folder):
    gt = write_spec(work, GRID_TIED, "gt.spach")
    weights = work / "gt.safetensors"
    assert (p := run_cli("build", str(gt), "-o", str(weights))).returncode == 0, p.stderr
    args = ["train", str(gt), "--data", str(folder), "--out", str(work / "gt32"), "--device", "cpu",
            "--init", str(weights), "--set", "input=32 channels 1", "--epochs", "1", *FOLDER_RUN]
    proc = run_cli(*args)
    assert proc.returncode == 1 and "error[E1021]" in proc.stderr and "4x4 token grid" in proc.stderr
    assert proc.stderr.count("error[") == 1 and "Traceback" not in proc.stderr
    hinted = _hint_command(proc.stderr)
    assert hinted[-2:] == ["--set", "input=16x16 channels 1"]
    proc = run_cli(*hinted)
    assert proc.returncode == 0, proc.stderr
    assert "loaded" in proc.stdout and "classes 1000 -> 3" in proc.stdout


def test_another_architecture_is_refused_in_the_diff_engines_words_and_partial_loads_the_rest(work, spec, folder):
    wider = write_spec(work, WIDER, "wider.spach")
    weights = work / "wider.safetensors"
    assert (p := run_cli("build", str(wider), "-o", str(weights))).returncode == 0, p.stderr
    args = ["train", str(spec), "--data", str(folder), "--out", str(work / "partial"), "--device",
            "cpu", "--init", str(weights), "--epochs", "1", *FOLDER_RUN]
    proc = run_cli(*args)
    assert proc.returncode == 1 and "error[E1022]" in proc.stderr
    assert "stage 1: dim 8 -> 12" in proc.stderr
    hinted = _hint_command(proc.stderr)
    assert hinted[-1] == "--init-partial"
    proc = run_cli(*hinted)
    assert proc.returncode == 0, proc.stderr
    reset = re.search(r"re-initialised (\d+) \(another shape\)", proc.stdout)
    assert reset and int(reset[1]) > 0
    left = re.search(r"left out (\d+):", proc.stdout)
    assert left and int(left[1]) == int(reset[1]) + 2  # the mis-shaped ones and the 1000-class head


@pytest.mark.parametrize("extra, code, words", [
    (["--layer-decay", "0"], "E1023", "expected a number in (0, 1]"),
    (["--layer-decay", "1.5"], "E1023", "expected a number in (0, 1]"),
    (["--freeze", "stem,stage3"], "E1024", "it has: stem, stage1, stage2, backbone"),
    (["--init-partial"], "E1025", "need --init MODEL"),
    (["--init", "specs/hybrid_xs.spach"], "E1020", "not a model"),
    (["--init", "specs"], "E1020", "neither a model folder"),
    (["--init", "no/such/run"], "E1020", "no such file or folder"),
])
def test_each_mistake_is_one_coded_error(work, spec, folder, extra, code, words):
    proc = train(spec, folder, work / "never", "--epochs", "1", *FOLDER_RUN, *extra)
    assert proc.returncode == 1, proc.stdout
    assert f"error[{code}]" in proc.stderr and words in proc.stderr and "hint:" in proc.stderr
    assert proc.stderr.count("error[") == 1 and "Traceback" not in proc.stderr
    assert not (work / "never").exists()


def test_freezing_without_init_warns_that_the_weights_are_random(work, spec, folder):
    proc = train(spec, folder, work / "random", "--freeze", "stem", "--epochs", "1", *FOLDER_RUN)
    assert proc.returncode == 0, proc.stderr
    assert "warning[W1020]: fine-tuning without --init: --freeze stem keeps randomly initialised" in proc.stderr
    assert "--init RUN_FOLDER" in proc.stderr and "init from" not in proc.stdout
