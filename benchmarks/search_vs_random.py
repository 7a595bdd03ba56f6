"""Hypervolume of the top-1/MACs front of each study benchmarks/search_vs_random.sh trained.

The dominated area, for maximised top-1 and minimised MACs, against the reference point
(MACs = 10M, the battle space's `where` bound, top-1 = 0), as a fraction of 10M x 100 %:
for MACs m, the best top-1 any network of the study reaches at a cost <= m, integrated over m.

    .venv/bin/python benchmarks/search_vs_random.py OUT
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

REF_MACS, REF_TOP1 = 10e6, 0.0


def hypervolume(points: list[tuple[float, float]]) -> float:
    """points: (macs, top1). Area of {(m, a): some point has macs <= m <= REF and a <= top1}."""
    front, best = [], REF_TOP1
    for macs, top1 in sorted(p for p in points if p[0] <= REF_MACS):
        if top1 > best:
            front.append((macs, top1))
            best = top1
    area = 0.0
    for i, (macs, top1) in enumerate(front):
        right = front[i + 1][0] if i + 1 < len(front) else REF_MACS
        area += (right - macs) * (top1 - REF_TOP1)
    return area / (REF_MACS * 100.0)


def main(out: Path) -> None:
    print("| sampler | seed | architectures trained | best top-1 | front size | hypervolume |")
    print("|---|---:|---:|---:|---:|---:|")
    for name in ("random0", "random1", "nsga0", "nsga1"):
        rows = [r for r in json.loads((out / name / "results.json").read_text()) if r["best_top1"] is not None]
        points = [(r["macs"], r["best_top1"]) for r in rows]
        front = sum(1 for p in points if not any(q[0] <= p[0] and q[1] > p[1] for q in points))
        print(f"| {'NSGA-II' if name.startswith('nsga') else 'random'} | {name[-1]} | {len(rows)} | "
              f"{max(r['best_top1'] for r in rows):.2f} | {front} | {hypervolume(points):.4f} |")


if __name__ == "__main__":
    main(Path(sys.argv[1]))
