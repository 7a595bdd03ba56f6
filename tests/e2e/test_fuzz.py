"""Bounded fuzzing of the front end (the long run is benchmarks/fuzz.py)."""

from __future__ import annotations

import collections
import random
import signal

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from support.fuzzing import exercise, mutate_bytes, mutate_tokens, zoo_texts
from support.strategies import layouts, specs

import spachc

FUZZ = settings(max_examples=700, deadline=None, suppress_health_check=list(HealthCheck), database=None)


class Hang(Exception):
    pass


def _exercise_with_watchdog(data: bytes, seconds: int = 20):
    def on_alarm(signum, frame):
        raise Hang(f"no answer within {seconds}s for input {data[:200]!r}")

    previous = signal.signal(signal.SIGALRM, on_alarm)
    signal.alarm(seconds)
    try:
        return exercise(data)
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


@FUZZ
@given(st.data())
def test_grammar_aware_valid_and_almost_valid_specs(data):
    spec = data.draw(specs())
    text, _ = data.draw(layouts(spachc.to_text(spec)))
    outcome, problems = _exercise_with_watchdog(text.encode())
    assert outcome == "valid" and not problems, problems
    rng = data.draw(st.randoms(use_true_random=False))
    mutated = mutate_tokens(text, rng)
    _, problems = _exercise_with_watchdog(mutated.encode())
    assert not problems, (mutated, problems)


def test_byte_mutations_of_the_zoo():
    rng = random.Random(20261125)
    corpus = zoo_texts()
    outcomes = collections.Counter()
    for _ in range(1500):
        data = mutate_bytes(rng.choice(corpus), rng)
        outcome, problems = _exercise_with_watchdog(data)
        assert not problems, (data, problems)
        outcomes[outcome] += 1
    # The mutator must reach every layer, or the test proves little.
    assert {"rejected", "syntax error", "invalid", "valid"} <= set(outcomes), outcomes
