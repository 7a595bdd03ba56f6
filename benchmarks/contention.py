"""Benchmark (not a test): does training collapse when another process keeps the CPUs busy?

Runs the demo's training (benchmarks/digits_small.spach on the built-in digits, fewer epochs)
alone and beside CPU-bound processes (pure-Python busy loops, one per `--busy`), under:

- `spachc`: the CLI as shipped, which sets OMP_WAIT_POLICY=PASSIVE and the thread count
  before torch loads (spachc/runtime/threads.py);
- `torch-first`: the same command with torch imported before the CLI, so OpenMP starts with
  its own defaults (threads spin-wait at barriers): what a user got before the fix;
- `active`: the CLI with OMP_WAIT_POLICY=ACTIVE set by the user (spinning forever).

Every run is bounded by `--timeout` (a run that hits it is reported as "> timeout").

    .venv/bin/python benchmarks/contention.py --epochs 3 --runs 1 --timeout 150

Prints wall times and the slowdown of each loaded run against the unloaded run of the same
policy; the load average is printed with them, since the machine may be shared.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
BUSY = "while True: pass"
TORCH_FIRST = "import sys, torch; from spachc.cli.app import main; sys.argv[0] = 'spachc'; main()"


def train_args(epochs: int, out: Path) -> list[str]:
    return ["train", "benchmarks/digits_small.spach", "--data", "digits", "--recipe", "quick", "--epochs", str(epochs),
            "--batch-size", "32", "--lr", "3e-3", "--warmup-epochs", "1", "--workers", "0", "--device", "cpu",
            "--log-every", "1000", "--out", str(out)]


def command(policy: str, args: list[str]) -> tuple[list[str], dict]:
    env = {k: v for k, v in os.environ.items() if k not in ("OMP_WAIT_POLICY", "OMP_NUM_THREADS", "SPACHC_THREADS")}
    if policy == "torch-first":
        return [sys.executable, "-c", TORCH_FIRST, *args], env
    if policy == "active":
        env["OMP_WAIT_POLICY"] = "ACTIVE"
    return [sys.executable, "-m", "spachc", *args], env


def timed_run(policy: str, epochs: int, busy: int, timeout: float) -> float | None:
    """Wall seconds of one training run beside `busy` busy loops; None when it hit the timeout."""
    hogs = [subprocess.Popen([sys.executable, "-c", BUSY]) for _ in range(busy)]
    try:
        with tempfile.TemporaryDirectory() as tmp:
            cmd, env = command(policy, train_args(epochs, Path(tmp) / "run"))
            start = time.perf_counter()
            try:
                proc = subprocess.run(cmd, cwd=REPO, env=env, capture_output=True, text=True, timeout=timeout)
            except subprocess.TimeoutExpired:
                return None
            if proc.returncode != 0:
                raise SystemExit(f"{policy}: training failed:\n{proc.stderr[-2000:]}")
            return time.perf_counter() - start
    finally:
        for hog in hogs:
            hog.kill()
            hog.wait()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--busy", type=int, default=1, help="busy processes beside the loaded runs")
    parser.add_argument("--runs", type=int, default=1)
    parser.add_argument("--timeout", type=float, default=150.0)
    parser.add_argument("--policies", nargs="+", default=["spachc", "torch-first", "active"])
    opts = parser.parse_args()
    print(f"CPUs {len(os.sched_getaffinity(0))}, load average {os.getloadavg()}, epochs {opts.epochs}, "
          f"busy processes {opts.busy}")
    for policy in opts.policies:
        for run in range(opts.runs):
            alone = timed_run(policy, opts.epochs, 0, opts.timeout)
            loaded = timed_run(policy, opts.epochs, opts.busy, opts.timeout)
            show = lambda t: f"> {opts.timeout:.0f} s (timeout)" if t is None else f"{t:.1f} s"  # noqa: E731
            ratio = "n/a" if alone is None or loaded is None else f"{loaded / alone:.2f}x"
            if alone is not None and loaded is None:
                ratio = f"> {opts.timeout / alone:.1f}x"
            print(f"{policy:12s} run {run + 1}: alone {show(alone)}, beside {opts.busy} busy {show(loaded)}, "
                  f"slowdown {ratio}   (load average now {os.getloadavg()[0]:.2f})", flush=True)


if __name__ == "__main__":
    main()
