"""How long `check` and `sweep sample` take on the attack's worst spaces, now that
their work is bounded before enumerating and comments are scanned in linear time.

    .venv/bin/python benchmarks/space_limits.py [--rounds 3] [--root .]

`--root` picks the checkout to import spachc from (an older one shows the times before the
fix: run it with `timeout`, those took minutes). Prints the median wall and CPU seconds of each
case (CPU time of this process: on a loaded machine it is the fairer figure).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

CASES = {
    "stage conv x{1..4096} dim 8 (28 bytes)": "stage conv x{1..4096} dim 8",
    "three choose {1..4096} as repeat counts": "input 32\nclasses 10\nchoose a {1..4096}\nchoose b {1..4096}\n"
    "choose c {1..4096}\nstage conv x$a, trans x$b dim 16 heads 2 -> down -> stage conv x$c\n",
    "three choose {1..4096} as widths": "input 32\nclasses 10\nchoose a {1..4096}\nchoose b {1..4096}\n"
    "choose c {1..4096}\nstage conv x1 dim $a -> down -> stage conv x1 dim $b -> down -> stage conv x2 dim $c\n",
    "2,000 alternative pipelines, each with a choice": "input 32\nclasses 10\n{ " + " | ".join(
        f"stage conv x{{1 | 2}} dim {8 + i}" for i in range(2000)) + " }\n",
    "980 KB of comment lines": "# c\n" * 245_000 + "stage conv x1 dim 8\n",
}


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--root", default=str(Path(__file__).resolve().parents[1]))
    parser.add_argument("--only", default=None, help="run the cases whose name contains this")
    args = parser.parse_args()
    sys.path.insert(0, args.root)
    from spachc.lang.frontend import check_text_with_census, document
    from spachc.lang import space

    check_text_with_census("stage conv x1 dim 8")  # build the parser once
    for name, text in CASES.items():
        if args.only and args.only not in name:
            continue
        times, cpu = [], []
        for _ in range(args.rounds):
            started, cpu_started = time.perf_counter(), time.process_time()
            diagnostics, census = check_text_with_census(text)
            times.append(time.perf_counter() - started)
            cpu.append(time.process_time() - cpu_started)
        what = ([d.code for d in diagnostics if d.severity == "error"] or
                ["a plain spec" if census is None else "exact" if census.exact else f"estimated, {census.draws} draws"])
        print(f"check  {name:50s} wall {statistics.median(times):6.2f} s  cpu {statistics.median(cpu):6.2f} s  {what}",
              flush=True)
    if not args.only or "sample" in args.only:
        doc = document("input 32\nclasses 10\nstage conv x{1..4096} dim 8\n")
        started, cpu_started = time.perf_counter(), time.process_time()
        outcomes, _ = space.sample(doc, 5, seed=0)
        print(f"sample -n 5 of stage conv x{{1..4096}} dim 8{'':17s} wall {time.perf_counter() - started:6.2f} s  "
              f"cpu {time.process_time() - cpu_started:6.2f} s  {len(outcomes)} drawn", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
