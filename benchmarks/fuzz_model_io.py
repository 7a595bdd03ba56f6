"""Long fuzzing run of models on disk (weights headers and model folders): tests/support/model_io_fuzzing.py.

    .venv/bin/python benchmarks/fuzz_model_io.py --cases 500 --seeds 0 1 2 3

Prints cases, accepted, refusals by code, escapes and hangs; exits 1 on any escape or hang.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from support.model_io_fuzzing import Tally, fuzz  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--cases", type=int, default=500, help="cases per seed, of each of the two kinds")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2, 3])
    args = parser.parse_args()
    total = Tally()
    start = time.perf_counter()
    for seed in args.seeds:
        with tempfile.TemporaryDirectory() as folder:
            tally = fuzz(Path(folder), args.cases, seed)
        total.cases += tally.cases
        total.accepted += tally.accepted
        total.hangs += tally.hangs
        total.escapes += tally.escapes
        for code, n in tally.refused.items():
            total.refused[code] = total.refused.get(code, 0) + n
        print(f"seed {seed}: {tally.cases} cases, {len(tally.escapes)} escapes, {tally.hangs} hangs", flush=True)
    refused = ", ".join(f"{code} {n}" for code, n in sorted(total.refused.items()))
    print(f"cases {total.cases}, accepted {total.accepted}, refused {sum(total.refused.values())} ({refused}), "
          f"escapes {len(total.escapes)}, hangs {total.hangs}, {time.perf_counter() - start:.0f} s")
    for escape in total.escapes[:5]:
        print(escape)
    return 1 if total.escapes or total.hangs else 0


if __name__ == "__main__":
    sys.exit(main())
