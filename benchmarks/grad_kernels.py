"""The fused training linears (spachc/nn/fused_grad.py) against the plain aten ops, A/B.

    OMP_WAIT_POLICY=PASSIVE .venv/bin/python benchmarks/grad_kernels.py conv_ms_xxs --rounds 21

One model, two copies with the same weights, one training step each per round (forward,
cross-entropy, backward, fused AdamW as `spachc train` runs it), the order reversed every round;
the only difference is `spachc.nn.fused.GRAD_KERNELS`. Many short rounds and the median of the
per-round ratio (with its interquartile range) resolve a few per cent on a shared machine where
compare.py's three-way alternation cannot. Drop path 0 by default (compare.py's setting, where
the MLP's residual add also fuses); `--drop-path` keeps the spec's (only the biases fuse).
"""

from __future__ import annotations

import argparse
import copy
import os
import resource
import statistics
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))

import spachc  # noqa: E402
from compare import randomise, train_step  # noqa: E402
from spachc.nn import fused  # noqa: E402
from spachc.train.optimizer import fused_adamw  # noqa: E402


def cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def quartiles(values: list[float]) -> tuple[float, float, float]:
    q = statistics.quantiles(values, n=4)
    return q[0], statistics.median(values), q[2]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("model")
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--rounds", type=int, default=21)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--drop-path", action="store_true", help="keep the spec's drop path (default: 0)")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    spec = spachc.load(args.model, overrides=[] if args.drop_path else ["drop_path=0"])
    torch.manual_seed(0)
    model = spachc.build(spec)
    randomise(model, 0)
    images = torch.randn(args.batch, 3, *spec.input, generator=torch.Generator().manual_seed(0))
    labels = torch.randint(0, spec.classes, (args.batch,), generator=torch.Generator().manual_seed(0))
    use_fused = fused_adamw(torch.device("cpu"), model)
    steps = {"fused": train_step(model, images, labels, fused=use_fused),
             "plain": train_step(copy.deepcopy(model), images, labels, fused=use_fused)}
    wall = {k: [] for k in steps}
    cpu = {k: [] for k in steps}
    load = [os.getloadavg()[0]]
    for r in range(args.rounds + 1):
        for name in (("fused", "plain") if r % 2 == 0 else ("plain", "fused")):
            fused.GRAD_KERNELS = name == "fused"
            start, start_cpu = time.perf_counter(), cpu_seconds()
            steps[name]()
            if r:  # round 0 warms both up
                wall[name].append(time.perf_counter() - start)
                cpu[name].append(cpu_seconds() - start_cpu)
    fused.GRAD_KERNELS = True
    load.append(os.getloadavg()[0])
    ratio = [p / f for p, f in zip(wall["plain"], wall["fused"])]
    cpu_ratio = [p / f for p, f in zip(cpu["plain"], cpu["fused"])]
    lo, mid, hi = quartiles(ratio)
    clo, cmid, chi = quartiles(cpu_ratio)
    print(f"{spec.name} train batch {args.batch}, {args.threads} threads, drop path {'spec' if args.drop_path else 0}, "
          f"{args.rounds} rounds, load {load[0]:.1f} -> {load[1]:.1f}: plain {statistics.median(wall['plain']) * 1e3:.0f} ms, "
          f"fused {statistics.median(wall['fused']) * 1e3:.0f} ms; plain/fused per round {mid:.3f}x "
          f"(IQR {lo:.3f}-{hi:.3f}), CPU time {cmid:.3f}x (IQR {clo:.3f}-{chi:.3f})", flush=True)


if __name__ == "__main__":
    main()
