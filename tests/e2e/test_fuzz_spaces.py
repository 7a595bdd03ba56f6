"""Bounded fuzzing of design spaces and study folders (the long runs are benchmarks/fuzz_spaces.py).
Seeded generators (tests/support/space_fuzzing.py); the work limits of `check` are lowered here so
that each case takes milliseconds: the oracle (a coded answer, no escape, no hang) is the same."""

from __future__ import annotations

import collections
import random

from support.space_fuzzing import base_study, damage_study, exercise_space, exercise_study, space_text


def test_generated_and_damaged_spaces_get_coded_answers(monkeypatch):
    from spachc.lang import space

    monkeypatch.setattr(space, "CHECK_BUDGET", 3_000)
    monkeypatch.setattr(space, "SAMPLE_DRAWS", 100)
    monkeypatch.setattr(space, "MIN_DRAWS", 20)
    monkeypatch.setattr(space, "SAMPLE_BUDGET", 3_000)
    rng = random.Random(20261204)
    outcomes = collections.Counter()
    for _ in range(40):
        text = space_text(rng)
        outcome, problems = exercise_space(text, seconds=30)
        assert outcome not in ("escape", "hang") and not problems, (text, problems)
        outcomes[outcome] += 1
    # the generator must reach both refusals and checkable spaces, or the test proves little
    assert {"error", "space"} <= set(outcomes), outcomes


def test_damaged_study_folders_get_coded_errors(tmp_path):
    rng = random.Random(20261205)
    outcomes = collections.Counter()
    for i in range(40):
        root = base_study(tmp_path / f"study{i}")
        done = [damage_study(root, rng) for _ in range(rng.randint(1, 2))]
        outcome, problems = exercise_study(root, seconds=30)
        assert outcome not in ("escape", "hang") and not problems, (done, problems)
        outcomes[outcome] += 1
    assert {"coded", "read"} <= set(outcomes), outcomes
