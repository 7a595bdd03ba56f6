"""Rank agreement of short and long training on the battle space: reads the two
studies benchmarks/battle_ranks.sh trained (OUT/e2, OUT/e18: the same 12 samples, complete
schedules of 2 and 18 epochs), prints a Markdown table of ranks, the Spearman correlation, and
what successive halving with eta 3 (budgets 2 -> 18) would have kept.

    .venv/bin/python benchmarks/battle_ranks.py OUT
"""

from __future__ import annotations

import json
import math
import sys
from pathlib import Path

from spachc.sweep.ranks import ranks, spearman


def main(out: Path) -> None:
    short = {r["id"]: r for r in json.loads((out / "e2" / "results.json").read_text())}
    long = {r["id"]: r for r in json.loads((out / "e18" / "results.json").read_text())}
    ids = [i for i in short if short[i]["best_top1"] is not None and long.get(i, {}).get("best_top1") is not None]
    a = [short[i]["best_top1"] for i in ids]
    b = [long[i]["best_top1"] for i in ids]
    ra, rb = ranks([-x for x in a]), ranks([-x for x in b])  # rank 1 = best
    print("| architecture | family | MACs | top-1 @2 | rank @2 | top-1 @18 | rank @18 |")
    print("|---|---|---:|---:|---:|---:|---:|")
    for k in sorted(range(len(ids)), key=lambda k: rb[k]):
        r = long[ids[k]]
        print(f"| {r['name']} | {r['family']} | {r['macs'] / 1e6:.2f}M | {a[k]:.2f} | {ra[k]:g} | {b[k]:.2f} | {rb[k]:g} |")
    rho = spearman(a, b)
    kept_n = math.ceil(len(ids) / 3)
    kept = {ids[k] for k in sorted(range(len(ids)), key=lambda k: (ra[k], k))[:kept_n]}
    best_long = {ids[k] for k in sorted(range(len(ids)), key=lambda k: (rb[k], k))[:kept_n]}
    winner = ids[min(range(len(ids)), key=lambda k: (rb[k], k))]
    print()
    print(f"Spearman rank correlation (2 vs 18 epochs, {len(ids)} architectures): {rho:.3f}")
    print(f"halving (eta 3) keeps the top {kept_n} at 2 epochs: {sorted(long[i]['name'] for i in kept)}")
    print(f"of the top {kept_n} at 18 epochs it keeps {len(kept & best_long)}; the best at 18 epochs "
          f"({long[winner]['name']}) is {'kept' if winner in kept else 'NOT kept'}")


if __name__ == "__main__":
    main(Path(sys.argv[1]))
