"""`spachc sweep run --ray` on a real private Ray on the loopback, no mocks:
a run trained under Ray is the run a local `sweep run` trains (same seed, data and threads);
a SIGKILLed Ray worker's task is retried and resumes to the same weights; a SIGKILLed driver
loses nothing and a rerun trains nothing twice; nothing Ray starts listens beyond 127.0.0.1;
and nothing but `--ray` ever imports ray."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from support.cli import env, spachc_cmd
from support.paths import REPO
from support.studies import RUN_FILES, _content, make_study, run_names

pytest.importorskip("ray")  # in the test extra (pyproject); spachc itself runs without it

RUN = ["--data", "animals", "--limit-train", "160", "--limit-val", "20", "--recipe", "quick", "--epochs", "5",
       "--batch-size", "16", "--warmup-epochs", "1", "--ema-decay", "0.9", "--seeds", "0", "--log-every", "1",
       "--device", "cpu", "--no-throughput", "--workers", "0"]
ONE_THREAD = {**env(), "OMP_NUM_THREADS": "1"}  # a Ray task gets --cpus-per-run (1) threads: the same numerics


def _start(study: Path, *extra: str) -> subprocess.Popen:
    return subprocess.Popen(spachc_cmd("sweep", "run", str(study), *RUN, "--ray", *extra), stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True, env=ONE_THREAD, cwd=REPO, start_new_session=True)


def _finish(proc: subprocess.Popen, timeout: float = 600) -> str:
    try:
        out, _ = proc.communicate(timeout=timeout)
    finally:
        _kill_group(proc)
    return out


def _kill_group(proc: subprocess.Popen) -> None:
    """Whatever the driver started (its private Ray) goes with the test."""
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass


def _holder_pid(study: Path, run: str) -> int | None:
    try:
        return json.loads((study / "runs" / f"{run}.lock").read_text() or "null")["pid"]
    except (OSError, ValueError, TypeError, KeyError):
        return None


def _group_pids(pgid: int) -> list[int]:
    pids = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if os.getpgid(int(entry.name)) == pgid:
                    pids.append(int(entry.name))
            except ProcessLookupError:
                pass
    return pids


def _listening(pids: list[int]) -> list[str]:
    """The local addresses of the TCP sockets these processes listen on (from /proc)."""
    inodes = set()
    for pid in pids:
        try:
            for fd in Path(f"/proc/{pid}/fd").iterdir():
                link = os.readlink(fd)
                if link.startswith("socket:["):
                    inodes.add(link[8:-1])
        except (FileNotFoundError, PermissionError, ProcessLookupError):
            pass
    found = []
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            fields = line.split()
            if fields[3] == "0A" and fields[9] in inodes:  # 0A: LISTEN
                found.append(fields[1].split(":")[0])
    return found


LOOPBACK = {"0100007F", "00000000000000000000000001000000", "0000000000000000FFFF00000100007F"}


@pytest.fixture(scope="module")
def local(tmp_path_factory):
    study = make_study(tmp_path_factory.mktemp("ray_local"), kinds=("conv", "trans", "mlp"))
    proc = subprocess.run(spachc_cmd("sweep", "run", str(study), *RUN), capture_output=True, text=True,
                          env=ONE_THREAD, cwd=REPO, timeout=600)
    assert proc.returncode == 0, proc.stderr
    return study


def _same_runs(a: Path, b: Path) -> None:
    assert run_names(a) == run_names(b)
    for name in run_names(a):
        for f in RUN_FILES:
            assert _content(a / "runs" / name / f) == _content(b / "runs" / name / f), f"{name}/{f} differs"


def test_a_killed_ray_worker_resumes_and_ray_runs_equal_local_runs(local, tmp_path):
    study = make_study(tmp_path, kinds=("conv", "trans", "mlp"))
    started = time.monotonic()
    proc = _start(study, "--cpus-per-run", "1")
    victim, listening = None, []
    while proc.poll() is None and victim is None:
        for run in run_names(study) if (study / "runs").exists() else []:
            folder = study / "runs" / run
            pid = _holder_pid(study, run)
            if (folder / "state.pt").exists() and not (folder / "result.json").exists() and pid:
                listening = _listening(_group_pids(proc.pid))
                os.kill(pid, signal.SIGKILL)  # the Ray worker process training this run
                victim = run
                break
        time.sleep(0.2)
    out = _finish(proc)
    assert proc.returncode == 0, out
    assert victim is not None, "no run was caught mid-training: " + out
    assert listening and set(listening) <= LOOPBACK, listening
    _same_runs(local, study)  # byte for byte what a local `sweep run` trained, the killed run included
    sessions = [json.loads(line) for line in (study / "runs" / victim / "sessions.jsonl").read_text().splitlines()]
    assert sessions[-1]["to_epoch"] == 5 and sessions[-1]["from_epoch"] >= 1  # resumed, not restarted
    print(f"ray worker-kill test: {time.monotonic() - started:.0f}s")


def test_a_killed_driver_loses_nothing_and_a_rerun_trains_nothing_twice(local, tmp_path):
    study = make_study(tmp_path, kinds=("conv", "trans", "mlp"))
    started = time.monotonic()
    proc = _start(study)
    while proc.poll() is None and not any((study / "runs" / r / "result.json").exists()
                                          for r in (run_names(study) if (study / "runs").exists() else [])):
        time.sleep(0.2)
    proc.kill()  # SIGKILL the driver alone
    proc.wait()
    time.sleep(1)
    _kill_group(proc)  # and, as a crashed login node would, whatever it left behind
    done_before = {r for r in run_names(study) if (study / "runs" / r / "result.json").exists()}
    assert done_before
    again = _start(study)
    out = _finish(again)
    assert again.returncode == 0, out
    # runs finished before the kill are skipped (a worker the dead driver left may finish one more)
    assert int(out.split(" already finished")[0].rsplit(", ", 1)[1]) >= len(done_before), out
    _same_runs(local, study)
    for run in run_names(study):
        sessions = [json.loads(line) for line in (study / "runs" / run / "sessions.jsonl").read_text().splitlines()]
        assert sum(s["from_epoch"] == 0 and s["to_epoch"] == 5 for s in sessions) <= 1, run  # never trained twice
        if run in done_before:
            assert len(sessions) == 1, run
    print(f"ray driver-kill test: {time.monotonic() - started:.0f}s")


def test_only_ray_engine_imports_ray(tmp_path):
    code = (
        "import importlib, pkgutil, sys, spachc\n"
        "for m in pkgutil.walk_packages(spachc.__path__, 'spachc.'):\n"
        "    if m.name not in ('spachc.sweep.ray_engine', 'spachc.__main__'):\n"
        "        importlib.import_module(m.name)\n"
        "from spachc.cli.app import main\n"
        "sys.argv = ['spachc', 'sweep', 'sample', 'battle', '-n', '2', '-o', sys.argv[1]]\n"
        "try:\n    main()\nexcept SystemExit:\n    pass\n"
        "assert 'ray' not in sys.modules and 'optuna' not in sys.modules, 'extra imported'\nprint('no ray')\n")
    proc = subprocess.run([sys.executable, "-c", code, str(tmp_path / "study")],
                          capture_output=True, text=True, env=env(), cwd=REPO, timeout=300)
    assert proc.returncode == 0 and "no ray" in proc.stdout, proc.stderr


def test_successive_halving_on_ray_trains_the_local_rungs(tmp_path):
    halving = ["--data", "animals", "--limit-train", "48", "--limit-val", "20", "--recipe", "quick", "--batch-size",
               "16", "--warmup-epochs", "0", "--seeds", "0", "--log-every", "100", "--device", "cpu",
               "--no-throughput", "--workers", "0", "--budgets", "1,2", "--halving", "2"]
    for name in ("local", "ray"):
        (tmp_path / name).mkdir()
    studies = [make_study(tmp_path / name, kinds=("conv", "trans", "mlp")) for name in ("local", "ray")]
    proc = subprocess.run(spachc_cmd("sweep", "run", str(studies[0]), *halving), capture_output=True, text=True,
                          env=ONE_THREAD, cwd=REPO, timeout=600)
    assert proc.returncode == 0, proc.stderr
    on_ray = subprocess.Popen(spachc_cmd("sweep", "run", str(studies[1]), *halving, "--ray"), stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT, text=True, env=ONE_THREAD, cwd=REPO, start_new_session=True)
    out = _finish(on_ray)
    assert on_ray.returncode == 0, out
    assert "sweep: trained 5 run(s)" in out
    assert len(run_names(studies[0])) == 5
    for name in run_names(studies[0]):  # the same promotions, the same run folders
        for f in ("last.safetensors", "best.safetensors", "metrics.jsonl", "result.json"):
            assert _content(studies[0] / "runs" / name / f) == _content(studies[1] / "runs" / name / f), name
