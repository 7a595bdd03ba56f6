"""Benchmark (not a test): does a short `--recipe quick` run learn? The 3-stage tiny hybrid of
the recipe change (conv x1 dim 32; conv + trans; trans; stem patch 2; input 32) on the built-in digits for
6 epochs, with today's quick recipe and with the quick recipe before it (its values given
as flags), several seeds each, alternating. Prints each run's final top-1 and the medians.

    OMP_WAIT_POLICY=PASSIVE .venv/bin/python benchmarks/quick_recipe.py --seeds 0 1 2
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SPEC = """\
model tiny_hybrid
input 32 channels 1
classes 10
stem conv1 patch 2
defaults heads 2
stage conv x1 dim 32
-> down -> stage conv x1, trans x1
-> down -> stage trans x1
"""
# The quick recipe as it was before (CHANGELOG.md: 2026-11-26).
BEFORE = ["--batch-size", "64", "--lr", "2e-3", "--warmup-epochs", "2", "--crop-scale", "0.6,1",
          "--crop-ratio", "0.75,1.3333333333333333", "--eval-crop", "0.875"]
RECIPES = {"quick (now)": [], "quick (before)": BEFORE}


def run(spec: Path, out: Path, seed: int, flags: list[str]) -> float:
    cmd = [sys.executable, "-m", "spachc", "train", str(spec), "--data", "digits", "--recipe", "quick",
           "--epochs", "6", "--workers", "0", "--device", "cpu", "--log-every", "1000", "--seed", str(seed),
           "--out", str(out), *flags]
    proc = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True)
    if proc.returncode != 0:
        raise SystemExit(f"training failed:\n{proc.stderr}")
    rows = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]
    return rows[-1]["val_top1"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    args = parser.parse_args()
    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} CPUs")
    results: dict[str, list[float]] = {name: [] for name in RECIPES}
    with tempfile.TemporaryDirectory() as tmp:
        spec = Path(tmp) / "tiny_hybrid.spach"
        spec.write_text(SPEC)
        for seed in args.seeds:
            for name, flags in RECIPES.items():
                top1 = run(spec, Path(tmp) / f"{name[:5]}{len(flags)}-{seed}", seed, flags)
                results[name].append(top1)
                print(f"seed {seed}  {name:<17} final top-1 {top1:.2f}%", flush=True)
    for name, values in results.items():
        print(f"median {name:<17} {statistics.median(values):.2f}%  ({', '.join(f'{v:.2f}' for v in values)})")


if __name__ == "__main__":
    main()
