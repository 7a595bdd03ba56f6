"""Long-running fuzz of design spaces and study folders.

    .venv/bin/python benchmarks/fuzz_spaces.py --minutes 10 [--seed 1] [--study-share 0.5]

Spaces: random spaces with choices in every place, named choices, alternative pipelines,
`where` bounds and comments, half of them with one wrong value (another type, an extreme
number, a huge range or bound); each is checked (`spachc check`) and, when checkable, two
architectures are drawn from it (`sweep sample`). Studies: a study folder with finished-looking
runs, damaged at random (study.json, settings.json, result.json, throughput.json, run.json,
sessions.jsonl, a spec; wrong types, truncation, deep nesting, links, ids leaving the study),
then read as `sweep run` and `sweep report` do. The oracles are tests/support/space_fuzzing.py's, with
the real work limits. Prints cases, escapes (any exception other than a coded error) and hangs
(no answer within --hang-seconds); failing inputs go to benchmarks/fuzz-failures/.
"""

from __future__ import annotations

import argparse
import collections
import random
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from support.space_fuzzing import base_study, damage_study, exercise_space, exercise_study, space_text  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--minutes", type=float, default=5.0)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--study-share", type=float, default=0.5, help="fraction of cases that are study folders")
    parser.add_argument("--hang-seconds", type=int, default=20)
    args = parser.parse_args()
    rng = random.Random(args.seed)
    outcomes: dict[str, collections.Counter] = {"space": collections.Counter(), "study": collections.Counter()}
    slowest = {"space": 0.0, "study": 0.0}
    failures = 0
    out_dir = Path(__file__).parent / "fuzz-failures"
    start = time.monotonic()
    deadline = start + 60 * args.minutes
    while time.monotonic() < deadline:
        kind = "study" if rng.random() < args.study_share else "space"
        began = time.monotonic()
        if kind == "space":
            text = space_text(rng)
            outcome, problems = exercise_space(text, args.hang_seconds)
            case = text
        else:
            with tempfile.TemporaryDirectory() as folder:
                root = base_study(Path(folder) / "study")
                done = [damage_study(root, rng) for _ in range(rng.randint(1, 2))]
                outcome, problems = exercise_study(root, args.hang_seconds)
                case = "; ".join(done)
        slowest[kind] = max(slowest[kind], time.monotonic() - began)
        outcomes[kind][outcome] += 1
        if problems or outcome in ("escape", "hang"):
            failures += 1
            out_dir.mkdir(exist_ok=True)
            (out_dir / f"{kind}-case-{failures}.txt").write_text(case + "\n\n" + "\n".join(problems))
            print(f"FAILURE {failures} ({kind}, {outcome}): {problems[:1]}", flush=True)
    minutes = (time.monotonic() - start) / 60
    for kind, counts in outcomes.items():
        total = sum(counts.values())
        print(f"{kind}: {total} cases {dict(counts)}; escapes {counts['escape']}, hangs {counts['hang']}; "
              f"slowest case {slowest[kind]:.1f}s")
    print(f"total: {sum(sum(c.values()) for c in outcomes.values())} cases in {minutes:.1f} min, {failures} failures")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
