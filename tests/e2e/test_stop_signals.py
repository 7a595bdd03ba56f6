"""SIGTERM/SIGINT to the whole process group, the way `timeout`, Slurm's
scancel, systemd and a terminal's Ctrl-C send them, with real DataLoader worker processes:
train checkpoints and stops with E1006 and 128 + signal; eval and a sweep stop with a coded
message. Never a "DataLoader worker killed by signal" traceback."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import time
from pathlib import Path

import pytest
import torch
from support.cli import env, spachc_cmd
from support.paths import REPO
from support.training import SMALL_RUN, train, write_image_folder, write_spec

PROGRESS = re.compile(r"^epoch (\d+)/\d+ step (\d+)/\d+ ")


def start_group(*args: str) -> subprocess.Popen:
    """The command as the leader of its own process group (its DataLoader workers join it)."""
    return subprocess.Popen(spachc_cmd(*args), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env(),
                            cwd=REPO, start_new_session=True)


def children(pid: int) -> list[int]:
    try:
        return [int(p) for p in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except OSError:
        return []


def signal_group_at_progress(proc: subprocess.Popen, signum: int, steps: int) -> tuple[str, str]:
    """Once `steps` progress lines were printed and the workers run, signal the whole group."""
    seen, lines = 0, []
    for line in proc.stdout:
        lines.append(line)
        if PROGRESS.match(line):
            seen += 1
            if seen >= steps and children(proc.pid):
                os.killpg(proc.pid, signum)
                break
    stdout, stderr = proc.communicate(timeout=180)
    return "".join(lines) + stdout, stderr


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    root = tmp_path_factory.mktemp("signals")
    return write_image_folder(root / "data", train_per_class=32), write_spec(root)


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_signal_to_the_process_group_with_workers_checkpoints_and_stops(data, tmp_path, signum):
    folder, spec = data
    out = tmp_path / "run"
    proc = start_group("train", str(spec), "--data", str(folder), "--out", str(out), "--device", "cpu",
                       "--workers", "2", "--epochs", "4", *SMALL_RUN)
    _, stderr = signal_group_at_progress(proc, signum, 3)
    name = signal.Signals(signum).name
    assert proc.returncode == 128 + signum, stderr
    assert f"stopped[E1006]: {name}: checkpoint saved at epoch" in stderr, stderr
    assert "Traceback" not in stderr and "killed by signal" not in stderr, stderr
    state = torch.load(out / "state.pt", weights_only=True)
    assert state["epoch"] * 12 + state["step_in_epoch"] >= 3  # 96 images, batch 8: 12 steps an epoch
    resumed = train(spec, folder, out, "--resume", "--workers", "2", "--epochs", "4", *SMALL_RUN)
    assert resumed.returncode == 0, resumed.stderr


def test_eval_in_progress_stops_with_a_coded_message(tmp_path):
    folder = write_image_folder(tmp_path / "data", train_per_class=8, val_per_class=400)
    spec = write_spec(tmp_path)
    trained = train(spec, folder, tmp_path / "run", "--epochs", "1", "--workers", "0", *SMALL_RUN, timeout=600)
    assert trained.returncode == 0, trained.stderr
    proc = start_group("eval", str(tmp_path / "run" / "last.safetensors"), "--data", str(folder), "--device", "cpu",
                       "--workers", "2", "--batch-size", "1")
    deadline = time.monotonic() + 120
    while not children(proc.pid) and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    assert proc.poll() is None, "eval ended before its workers were seen"
    time.sleep(0.5)
    os.killpg(proc.pid, signal.SIGTERM)
    _, stderr = proc.communicate(timeout=120)
    assert proc.returncode == 143, stderr
    assert "stopped[E1040]: SIGTERM: eval stopped before its end" in stderr, stderr
    assert "Traceback" not in stderr, stderr


def test_sweep_run_stops_on_a_signal_to_its_group(tmp_path):
    spec = write_spec(tmp_path, "model t\ninput 28 channels 1\nclasses 10\nstem conv1 patch 7\n\nstage conv x1 dim 8\n",
                      "t.spach")
    study = tmp_path / "study"
    made = subprocess.run(spachc_cmd("sweep", "new", str(spec), "-o", str(study)), capture_output=True, text=True,
                          env=env(), cwd=REPO, timeout=120)
    assert made.returncode == 0, made.stderr
    proc = start_group("sweep", "run", str(study), "--data", "animals", "--limit-train", "160", "--limit-val", "20",
                       "--recipe", "quick", "--epochs", "3", "--batch-size", "8", "--log-every", "1", "--device",
                       "cpu", "--no-throughput", "--workers", "2")
    _, stderr = signal_group_at_progress(proc, signal.SIGTERM, 3)
    assert proc.returncode == 143, stderr
    assert "stopped[E1006]: SIGTERM: checkpoint saved at epoch" in stderr, stderr
    assert "Traceback" not in stderr and "killed by signal" not in stderr, stderr
