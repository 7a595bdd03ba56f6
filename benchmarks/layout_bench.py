"""Is a layout change really faster on this CPU? The CPE's depthwise conv and the patch stem,
forward + backward, in the layout spachc uses against the copy it replaces, in one alternating run.

    OMP_WAIT_POLICY=PASSIVE .venv/bin/python benchmarks/layout_bench.py --threads 2 --batch 8 --rounds 9

cpe:  tokens B×N×C -> depthwise 3×3 conv -> tokens, on the channels-last view (no copy) against
      `.transpose().contiguous()` to NCHW and `.contiguous()` back (the reference's round trip).
stem: images -> P×P stride-P conv -> LayerNorm over tokens, the conv fed channels-last images
      (its output is then already token-major) against NCHW images (the tokens need a copy,
      forward and backward).
Prints the median ms of each variant and the ratio (copying / copy-free; > 1: copy-free wins).
"""

from __future__ import annotations

import argparse
import os
import statistics
import time

import torch
from torch import nn


def cpe_case(batch: int, dim: int, side: int):
    conv = nn.Conv2d(dim, dim, 3, padding=1, groups=dim)
    x = torch.randn(batch, side * side, dim, requires_grad=True)

    def view():
        grid = x.transpose(1, 2).reshape(batch, dim, side, side)
        conv(grid).flatten(2).transpose(1, 2).sum().backward()

    def copy():
        grid = x.transpose(1, 2).contiguous().view(batch, dim, side, side)
        conv(grid).flatten(2).transpose(1, 2).contiguous().sum().backward()
    return {"copy-free": view, "copying": copy}


def stem_case(batch: int, dim: int, size: int, patch: int):
    conv = nn.Conv2d(3, dim, patch, stride=patch)
    norm = nn.LayerNorm(dim)
    images = torch.randn(batch, 3, size, size)

    def run(x):
        norm(conv(x).flatten(2).transpose(1, 2)).square().mean().backward()
    return {"copy-free": lambda: run(images.contiguous(memory_format=torch.channels_last)),
            "copying": lambda: run(images)}


def alternate(steps: dict, rounds: int) -> dict[str, float]:
    for step in steps.values():
        step()
    times = {name: [] for name in steps}
    names = list(steps)
    for r in range(rounds):
        for name in (names if r % 2 == 0 else names[::-1]):
            start = time.perf_counter()
            steps[name]()
            times[name].append(time.perf_counter() - start)
    return {name: statistics.median(t) * 1e3 for name, t in times.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--rounds", type=int, default=9)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    cases = {f"cpe C={dim} {side}x{side}": cpe_case(args.batch, dim, side)
             for dim, side in ((64, 56), (128, 28), (256, 14), (512, 7))}
    cases.update({f"stem C={dim} 224/4": stem_case(args.batch, dim, 224, 4) for dim in (64, 128)})
    print(f"batch {args.batch}, {torch.get_num_threads()} threads, load {os.getloadavg()[0]:.1f}", flush=True)
    for name, steps in cases.items():
        ms = alternate(steps, args.rounds)
        print(f"{name:22s} copy-free {ms['copy-free']:7.2f} ms  copying {ms['copying']:7.2f} ms  "
              f"ratio {ms['copying'] / ms['copy-free']:.2f}x", flush=True)


if __name__ == "__main__":
    main()
