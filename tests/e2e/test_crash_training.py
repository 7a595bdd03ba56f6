"""Training survives faults: SIGKILL at random steps, SIGINT/SIGTERM,
a non-finite loss, and checkpoint writes that fail (file-size limit). Each failure class
has its own message and exit code; no fault loses a finished checkpoint."""

from __future__ import annotations

import random
import re
import resource
import signal
import subprocess

import pytest
import torch
from support.cli import env, spachc_cmd
from support.paths import REPO
from support.training import assert_same_weights, train, write_image_folder, write_spec

STEPS_PER_EPOCH = 6  # 48 images, batch 8, one process
EPOCHS = 3
RUN = ["--epochs", str(EPOCHS), "--batch-size", "8", "--warmup-epochs", "1", "--cooldown-epochs", "0",
       "--lr", "2e-3", "--ema-decay", "0.9", "--log-every", "1", "--workers", "1"]
PROGRESS = re.compile(r"^epoch (\d+)/\d+ step (\d+)/\d+ ")


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    root = tmp_path_factory.mktemp("crash")
    folder, spec = write_image_folder(root / "data"), write_spec(root)
    baseline = root / "baseline"
    proc = train(spec, folder, baseline, *RUN)
    assert proc.returncode == 0, proc.stderr
    return folder, spec, baseline


def start(spec, folder, out, *args, **kwargs) -> subprocess.Popen:
    cmd = spachc_cmd("train", str(spec), "--data", str(folder), "--out", str(out), "--device", "cpu", *RUN, *args)
    return subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env(), cwd=REPO,
                            **kwargs)


def run_until(proc: subprocess.Popen, target_step: int, signum: int) -> int | None:
    """Send `signum` once the run reports global step >= target; the step it reached, or None if it ended."""
    for line in proc.stdout:
        match = PROGRESS.match(line)
        if match:
            step = (int(match[1]) - 1) * STEPS_PER_EPOCH + int(match[2])
            if step >= target_step:
                proc.send_signal(signum)
                _, stderr = proc.communicate(timeout=120)
                if signum != signal.SIGKILL:
                    name = signal.Signals(signum).name
                    assert f"stopped[E1006]: {name}: checkpoint saved at epoch" in stderr, stderr
                    assert "Traceback" not in stderr
                return step
    proc.wait(timeout=120)
    return None


def test_sigkill_at_random_steps_then_resume_gives_identical_weights(setup, tmp_path):
    folder, spec, baseline = setup
    out = tmp_path / "killed"
    rng = random.Random(20261125)
    total = EPOCHS * STEPS_PER_EPOCH
    targets = sorted(rng.sample(range(2, total), 3))
    kills = 0
    for target in targets:
        proc = start(spec, folder, out, "--resume", "--checkpoint-every", "2")
        if run_until(proc, target, signal.SIGKILL) is not None:
            assert proc.returncode == -signal.SIGKILL
            kills += 1
    assert kills == 3
    final = train(spec, folder, out, "--resume", "--checkpoint-every", "2", *RUN)
    assert final.returncode == 0, final.stderr
    assert "resuming" in final.stdout
    assert_same_weights(baseline / "last.safetensors", out / "last.safetensors")
    assert_same_weights(baseline / "last.ema.safetensors", out / "last.ema.safetensors")
    assert_same_weights(baseline / "best.safetensors", out / "best.safetensors")
    assert (baseline / "metrics.jsonl").read_text() == (out / "metrics.jsonl").read_text()


@pytest.mark.parametrize("signum, code", [(signal.SIGTERM, 143), (signal.SIGINT, 130)])
def test_sigterm_and_sigint_save_a_checkpoint_and_exit_cleanly(setup, tmp_path, signum, code):
    folder, spec, baseline = setup
    out = tmp_path / "stopped"
    proc = start(spec, folder, out)
    reached = run_until(proc, STEPS_PER_EPOCH + 3, signum)
    assert reached is not None and proc.returncode == code
    state = torch.load(out / "state.pt", weights_only=True)
    # Stopped mid-epoch 2, at the step boundary after the signal: nothing already trained is lost.
    assert state["epoch"] == 1 and state["step_in_epoch"] >= reached - STEPS_PER_EPOCH
    if signum == signal.SIGTERM:  # the resumed run is the uninterrupted one (SIGINT takes the same path)
        resumed = train(spec, folder, out, "--resume", *RUN)
        assert resumed.returncode == 0, resumed.stderr
        assert f"epoch 2 step {state['step_in_epoch']}" in resumed.stdout
        assert_same_weights(baseline / "last.safetensors", out / "last.safetensors")


def test_non_finite_loss_stops_and_keeps_the_last_good_checkpoint(setup, tmp_path):
    folder, spec, _ = setup
    out = tmp_path / "nan"
    # An absurd peak learning rate overflows the weights within the warm-up of the first epoch.
    proc = train(spec, folder, out, *RUN, "--lr", "1e35", "--warmup-lr", "1e-4", "--checkpoint-every", "1")
    assert proc.returncode == 3, proc.stdout + proc.stderr
    match = re.search(r"error\[E1004\]: the loss is (nan|inf) at epoch 1 step (\d+); training stopped", proc.stderr)
    assert match, proc.stderr
    assert "Traceback" not in proc.stderr
    state = torch.load(out / "state.pt", weights_only=True)
    assert state["step_in_epoch"] == int(match[2]) - 1
    assert all(torch.isfinite(t).all() for t in state["model"].values())


def _limit_file_size(limit: int):
    def apply():
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))
    return apply


def test_failing_checkpoint_write_fails_loudly_and_keeps_the_previous_checkpoint(setup, tmp_path):
    folder, spec, baseline = setup
    out = tmp_path / "full"
    first = train(spec, folder, out, *RUN, "--stop-after", "1")
    assert first.returncode == 0, first.stderr
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    # The disk "fills up": no file this process writes may exceed 4 kB.
    cmd = spachc_cmd("train", str(spec), "--data", str(folder), "--out", str(out), "--device", "cpu", *RUN, "--resume")
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=300, env=env(), cwd=REPO,
                          preexec_fn=_limit_file_size(4096))
    assert proc.returncode == 4, proc.stdout + proc.stderr
    assert re.search(r"error\[E1005\]: cannot write \S+\.safetensors: File too large; training stopped and the "
                     r"previous checkpoint \S+state\.pt is intact", proc.stderr), proc.stderr
    after = {p.name: p.read_bytes() for p in out.iterdir()}
    assert after == before  # nothing half-written, no temp files left behind
    finished = train(spec, folder, out, *RUN, "--resume")
    assert finished.returncode == 0, finished.stderr
    assert_same_weights(baseline / "last.safetensors", out / "last.safetensors")
