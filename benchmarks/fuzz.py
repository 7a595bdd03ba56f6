"""Long-running fuzz of the front end: check, fmt and build on generated and mutated specs.

    .venv/bin/python benchmarks/fuzz.py --minutes 10 [--seed 1]

Inputs: grammar-aware valid specs (random IRs printed with random layout and comments),
token-level mutations of those (almost valid), and byte-level mutations of the zoo.
The oracle is tests/support/fuzzing.py:exercise. Prints a summary line per minute and the totals;
any failing input is written to benchmarks/fuzz-failures/ for a regression test.
"""

from __future__ import annotations

import argparse
import collections
import random
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from hypothesis import HealthCheck, given, seed, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

import spachc  # noqa: E402
from support.fuzzing import exercise, mutate_bytes, mutate_tokens, zoo_texts  # noqa: E402
from support.strategies import layouts, specs  # noqa: E402


def grammar_round(rng_seed: int, examples: int, record) -> None:
    """One hypothesis run: `examples` generated specs, each also mutated at token level."""

    @seed(rng_seed)
    @settings(max_examples=examples, deadline=None, database=None, suppress_health_check=list(HealthCheck))
    @given(st.data())
    def body(data):
        text, _ = data.draw(layouts(spachc.to_text(data.draw(specs()))))
        record(text.encode())
        record(mutate_tokens(text, data.draw(st.randoms(use_true_random=False))).encode())

    body()


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--minutes", type=float, default=5.0)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    rng = random.Random(args.seed)
    corpus = zoo_texts()
    outcomes: collections.Counter = collections.Counter()
    failures = []
    out_dir = Path(__file__).parent / "fuzz-failures"
    start = time.monotonic()
    deadline = start + 60 * args.minutes
    next_report = start + 60
    def record(data: bytes) -> None:
        try:
            outcome, problems = exercise(data)
        except Exception as exc:  # noqa: BLE001 - a crash is exactly what a fuzzer records
            outcome, problems = "crash", [f"{type(exc).__name__}: {exc}"]
        outcomes[outcome] += 1
        if problems:
            failures.append((data, problems))
            out_dir.mkdir(exist_ok=True)
            (out_dir / f"case-{len(failures)}.spach").write_bytes(data)
            print(f"FAILURE {len(failures)}: {problems[0][:300]}", flush=True)

    round_no = 0
    while time.monotonic() < deadline:
        round_no += 1
        grammar_round(args.seed * 100_000 + round_no, 200, record)
        for _ in range(400):
            record(mutate_bytes(rng.choice(corpus), rng))
        if time.monotonic() > next_report:
            print(f"{(time.monotonic() - start) / 60:.0f} min: {sum(outcomes.values())} cases {dict(outcomes)}",
                  flush=True)
            next_report += 60
    total = sum(outcomes.values())
    print(f"total: {total} cases in {(time.monotonic() - start) / 60:.1f} min, {len(failures)} failures; "
          f"outcomes {dict(outcomes)}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
