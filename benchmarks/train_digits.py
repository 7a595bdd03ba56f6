"""Benchmark (not a test): train benchmarks/digits_small.spach on the built-in digits and
report wall-clock time (process start to exit, imports included) and validation top-1.

    .venv/bin/python benchmarks/train_digits.py --runs 3

Prints one line per run and the medians; the figures go to benchmarks/RESULTS.md.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
COMMAND = ["train", "benchmarks/digits_small.spach", "--data", "digits", "--recipe", "quick", "--epochs", "15",
           "--batch-size", "32", "--lr", "3e-3", "--warmup-epochs", "1", "--workers", "1", "--device", "cpu",
           "--log-every", "1000"]


def one_run(out: Path) -> dict:
    """Wall-clock from process start; each epoch's summary line is timestamped as it arrives."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-m", "spachc", *COMMAND, "--out", str(out)], cwd=REPO,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    arrived = {}
    for line in proc.stdout:
        match = re.match(r"epoch (\d+)/\d+  train loss", line)
        if match:
            arrived[int(match[1])] = time.perf_counter() - start
    stderr = proc.stderr.read()
    if proc.wait() != 0:
        raise SystemExit(f"training failed:\n{stderr}")
    seconds = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    rows = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]
    first_98 = next((r["epoch"] for r in rows if r["val_top1"] >= 98.0), None)
    return {"seconds": seconds, "cpu_seconds": cpu, "final_top1": rows[-1]["val_top1"],
            "best_top1": max(r["val_top1"] for r in rows), "first_epoch_at_98": first_98,
            "seconds_to_98": arrived.get(first_98) if first_98 else None,
            "load_average": os.getloadavg()[0]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} CPUs; "
          f"command: spachc {' '.join(COMMAND)}")
    results = []
    for i in range(args.runs):
        with tempfile.TemporaryDirectory() as tmp:
            result = one_run(Path(tmp) / "run")
        results.append(result)
        print(f"run {i + 1}: {result['seconds']:.1f} s wall ({result['cpu_seconds']:.0f} CPU-s), final top-1 "
              f"{result['final_top1']:.2f}%, best {result['best_top1']:.2f}%, >= 98% first at epoch "
              f"{result['first_epoch_at_98']} after {result['seconds_to_98'] or float('nan'):.1f} s; "
              f"load average {result['load_average']:.1f}", flush=True)
    print(f"median: {statistics.median(r['seconds'] for r in results):.1f} s wall, "
          f"{statistics.median(r['cpu_seconds'] for r in results):.0f} CPU-s, "
          f"final top-1 {statistics.median(r['final_top1'] for r in results):.2f}%")


if __name__ == "__main__":
    main()
