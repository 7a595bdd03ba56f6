"""Benchmark (not a test): train benchmarks/digits_small.spach on the built-in digits and
report wall-clock time (process start to exit, imports included) and validation top-1.

    .venv/bin/python benchmarks/train_digits.py --runs 3

Prints one line per run and the medians; the figures go to benchmarks/results/training.md.
"""

from __future__ import annotations

import argparse
import json
import platform
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
    start = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "spachc", *COMMAND, "--out", str(out)], cwd=REPO,
                          capture_output=True, text=True)
    seconds = time.perf_counter() - start
    if proc.returncode != 0:
        raise SystemExit(f"training failed:\n{proc.stderr}")
    rows = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]
    first_98 = next((r["epoch"] for r in rows if r["val_top1"] >= 98.0), None)
    return {"seconds": seconds, "final_top1": rows[-1]["val_top1"], "best_top1": max(r["val_top1"] for r in rows),
            "first_epoch_at_98": first_98}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    print(f"machine: {platform.processor() or platform.machine()}, {__import__('os').cpu_count()} CPUs; "
          f"command: spachc {' '.join(COMMAND)}")
    results = []
    for i in range(args.runs):
        with tempfile.TemporaryDirectory() as tmp:
            result = one_run(Path(tmp) / "run")
        results.append(result)
        print(f"run {i + 1}: {result['seconds']:.1f} s, final top-1 {result['final_top1']:.2f}%, "
              f"best {result['best_top1']:.2f}%, first epoch >= 98%: {result['first_epoch_at_98']}")
    print(f"median: {statistics.median(r['seconds'] for r in results):.1f} s, "
          f"final top-1 {statistics.median(r['final_top1'] for r in results):.2f}%")


if __name__ == "__main__":
    main()
