"""AdamW's three CPU implementations on a real training step: op by op (`foreach=False`, what
`spachc train` used before), multi-tensor (`foreach=True`), and the fused kernel
(`fused=True`, what spachc.train.optimizer.fused_adamw picks now). Same model, same batch, one
alternating run (order reversed each round), medians; the parameters of the three after three
identical steps are compared, so the cost in numerics is printed beside the speed.

    OMP_WAIT_POLICY=PASSIVE .venv/bin/python benchmarks/optimizer_step.py hybrid_s --batch 8
"""

from __future__ import annotations

import argparse
import copy
import platform
import statistics
import time

import torch
import torch.nn.functional as F

import spachc
from spachc.train.loop import param_groups

KINDS = {"loop": {"foreach": False}, "foreach": {"foreach": True}, "fused": {"fused": True}}


def step(model, optimizer, images, labels) -> None:
    optimizer.zero_grad(set_to_none=True)
    F.cross_entropy(model(images), labels).backward()
    optimizer.step()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("model")
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--size", type=int, default=None, help="input size (default: the spec's)")
    parser.add_argument("--rounds", type=int, default=9)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    spec = spachc.load(args.model, overrides=[f"input={args.size}"] if args.size else [])
    torch.manual_seed(0)
    base = spachc.build(spec)
    images = torch.randn(args.batch, spec.channels, *spec.input)
    labels = torch.randint(0, spec.classes, (args.batch,))
    runs = {}
    for name, kw in KINDS.items():
        model = copy.deepcopy(base).train()
        runs[name] = (model, torch.optim.AdamW(param_groups(model, 0.05), lr=1e-4, **kw))
    for _ in range(2):
        for model, optimizer in runs.values():
            step(model, optimizer, images, labels)
    steps, updates = {k: [] for k in runs}, {k: [] for k in runs}
    for r in range(args.rounds):
        for name in (list(runs) if r % 2 == 0 else list(reversed(runs))):
            model, optimizer = runs[name]
            start = time.perf_counter()
            step(model, optimizer, images, labels)
            steps[name].append(time.perf_counter() - start)
            start = time.perf_counter()
            optimizer.step()
            updates[name].append(time.perf_counter() - start)
    params = {}
    for name, kw in KINDS.items():
        model = copy.deepcopy(base).train()
        optimizer = torch.optim.AdamW(param_groups(model, 0.05), lr=1e-3, **kw)
        torch.manual_seed(1)  # the same drop-path draws for all three
        for _ in range(3):
            step(model, optimizer, images, labels)
        params[name] = torch.cat([p.detach().flatten() for p in model.parameters()])
    print(f"{args.model} batch {args.batch} at {spec.input[0]}x{spec.input[1]}, {sum(p.numel() for p in base.parameters()):,} "
          f"params, {args.threads} threads, {platform.processor() or platform.machine()}, torch {torch.__version__}")
    baseline = statistics.median(steps["loop"])
    for name in runs:
        median = statistics.median(steps[name])
        drift = (params[name] - params["loop"]).abs().max().item()
        print(f"  {name:8s} train step {1000 * median:8.1f} ms ({baseline / median:.3f}x)   optimizer.step alone "
              f"{1000 * statistics.median(updates[name]):7.2f} ms   max|Δparam| vs loop after 3 steps {drift:.1e}")


if __name__ == "__main__":
    main()
