"""Backbone benchmark (not a test): the cost of `forward_intermediates` (every stage's map
kept, plus the final tokens) and of a `features_only` backbone against the plain classifier
`forward`, on the same weights and inputs, timed turn about.

    OMP_WAIT_POLICY=PASSIVE .venv/bin/python benchmarks/backbone_bench.py hybrid_xs conv_ms_xxs \
        --threads 2 --batch 8 --runs 7

Prints a Markdown table for benchmarks/RESULTS.md: medians in ms, and each ratio against the
classifier forward measured in the same alternation.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import time
from datetime import datetime, timezone

import torch

import spachc


def timed(fn) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def measure(name: str, batch: int, runs: int, grad: bool) -> dict:
    spec = spachc.load(name)
    torch.manual_seed(0)
    model = spachc.build(spec).eval()
    backbone = spachc.build(spec, features_only=True)
    backbone.load_classifier_state(model.state_dict())
    backbone.eval()
    images = torch.randn(batch, spec.channels, *spec.input)
    runners = {
        "forward": lambda: model(images),
        "forward_intermediates": lambda: model.forward_intermediates(images),
        "features_only": lambda: backbone(images),
    }
    if grad:  # forward + backward through every output, as a training step of a dense head would
        runners = {
            "forward": lambda: model(images).sum().backward(),
            "forward_intermediates": lambda: sum(m.sum() for m in model.forward_intermediates(images)[1]).backward(),
            "features_only": lambda: sum(m.sum() for m in backbone(images)).backward(),
        }
    times = {k: [] for k in runners}
    with torch.set_grad_enabled(grad):
        for fn in runners.values():
            fn()  # warm-up
        for _ in range(runs):
            for key, fn in runners.items():
                times[key].append(timed(fn))
    return {k: statistics.median(v) * 1e3 for k, v in times.items()}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("models", nargs="+")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    print(f"{platform.processor() or platform.machine()}, torch {torch.__version__}, {args.threads} threads, "
          f"batch {args.batch}, median of {args.runs}, load average {os.getloadavg()[0]:.1f}, "
          f"{datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC\n")
    print("| model | mode | forward ms | forward_intermediates ms (ratio) | features_only ms (ratio) |")
    print("|---|---|---|---|---|")
    for name in args.models:
        for grad in (False, True):
            t = measure(name, args.batch, args.runs, grad)
            base = t["forward"]
            print(f"| {name} | {'fwd+bwd' if grad else 'eval, no_grad'} | {base:.1f} | "
                  f"{t['forward_intermediates']:.1f} ({t['forward_intermediates'] / base:.3f}×) | "
                  f"{t['features_only']:.1f} ({t['features_only'] / base:.3f}×) |", flush=True)


if __name__ == "__main__":
    main()
