"""How long `spachc sweep sample battle -n 1000` takes, against compiling the same specs.

Both are timed in this process, alternating, with wall and CPU time (the machine is shared):
- sample:   space.sample(battle, 1000, seed) - every draw instantiated, resolved, counted, hashed,
            rejected or kept (what the CLI does before writing files);
- baseline: parse + resolve + count the 1000 sampled specs from their canonical text, i.e. the
            plain front end on the same networks. The ratio is the cost of drawing per kept
            network, rejected draws included, relative to compiling it once.

    OMP_WAIT_POLICY=PASSIVE .venv/bin/python benchmarks/sample_battle.py --reps 3
"""

from __future__ import annotations

import argparse
import statistics
import time

from spachc.lang.counts import total_cost
from spachc.lang.frontend import load_space, parse
from spachc.lang.printer import to_text
from spachc.lang.resources import spaces_dir
from spachc.lang.space import sample


def timed(fn):
    wall, cpu = time.perf_counter(), time.process_time()
    result = fn()
    return result, time.perf_counter() - wall, time.process_time() - cpu


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=1000)
    ap.add_argument("--reps", type=int, default=3)
    args = ap.parse_args()
    doc = load_space(spaces_dir() / "battle.spach")
    rows = []
    for rep in range(args.reps):
        (outcomes, how), wall, cpu = timed(lambda: sample(doc, args.n, seed=rep))
        texts = [to_text(o.spec) for o in outcomes]
        _, base_wall, base_cpu = timed(lambda: [total_cost(parse(t)) for t in texts])
        rows.append((wall, cpu, base_wall, base_cpu, how["draws"]))
        print(f"rep {rep}: sample {wall:.2f}s wall {cpu:.2f}s cpu ({how['draws']} draws); "
              f"baseline {base_wall:.2f}s wall {base_cpu:.2f}s cpu", flush=True)
    med = [statistics.median(r[i] for r in rows) for i in range(5)]
    print(f"median: sample {med[0]:.2f}s wall / {med[1]:.2f}s cpu for {args.n} networks ({med[4]:.0f} draws); "
          f"baseline {med[2]:.2f}s wall / {med[3]:.2f}s cpu; ratio (cpu) {med[1] / med[3]:.2f}x")


if __name__ == "__main__":
    main()
