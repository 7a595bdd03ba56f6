"""Limits on the language under load: large named choices and many alternative pipelines are
estimated within the work budget, `sweep sample` stops at its work limit, the battle space is
still estimated from 2000 draws, and 980 KB of comments parse without hanging. Each ran for
minutes before its fix (the quick cases are tests/unit/test_language_limits.py)."""

from __future__ import annotations

import pytest

from spachc.lang import space
from spachc.lang.frontend import check_text_with_census, document

BASE = "input 32\nclasses 10\n"


def test_three_large_named_choices_are_refused_or_estimated_without_quadratic_counting():
    # three `choose {1..4096}` as repeat counts: 163 s before; as widths: an estimate
    counts = BASE + "choose a {1..4096}\nchoose b {1..4096}\nchoose c {1..4096}\n"
    diagnostics, _ = check_text_with_census(counts + "stage conv x$a, conv x$b dim 16 -> down -> stage conv x$c\n")
    assert [d.code for d in diagnostics] == ["E112"]
    widths = counts + "stage conv x1 dim $a -> down -> stage conv x1 dim $b -> down -> stage conv x2 dim $c\n"
    diagnostics, census = check_text_with_census(widths)
    assert [d for d in diagnostics if d.severity == "error"] == []
    # each network: 4 blocks and 3 stages, so the budget pays for this many random draws
    assert not census.exact and census.combinations == 4096 ** 3
    assert census.draws == min(space.SAMPLE_DRAWS, space.CHECK_BUDGET // (4 + 3 * space.EVAL_OVERHEAD))


def test_many_alternative_pipelines_with_choices_are_estimated_within_the_budget():
    alternatives = " | ".join(f"stage conv x{{1 | 2}} dim {8 + i}" for i in range(2000))
    diagnostics, census = check_text_with_census(BASE + "{ " + alternatives + " }\n")
    assert [d for d in diagnostics if d.severity == "error"] == []
    assert not census.exact and space.MIN_DRAWS <= census.draws < space.SAMPLE_DRAWS
    assert census.valid == census.draws  # every alternative is a valid network


def test_sample_stops_at_its_work_limit_with_the_counts(monkeypatch):
    monkeypatch.setattr(space, "SAMPLE_BUDGET", 20_000)
    doc = document("input 32\nclasses 10\nstage conv x{1000..4000} dim 8\nwhere params <= 1K\n")
    with pytest.raises(space.TooFew, match="work limit of 20,000 units"):
        space.sample(doc, 2, seed=0)


def test_the_battle_space_is_still_estimated_from_2000_draws():
    from spachc.lang.resources import spaces_dir

    text = (spaces_dir() / "battle.spach").read_text()
    _, census = check_text_with_census(text)
    assert not census.exact and census.draws == space.SAMPLE_DRAWS


def test_980_kb_of_comments_parses_without_hanging():
    # each comment's span counted newlines from the start of the file: over 100 s before (a hang,
    # as inspect/build/predict of a weights file with comments appended to its spec). The alarm is
    # a hang guard (as in test_fuzz.py), far above the ~1.5 s of CPU this takes, not a benchmark.
    from support.space_fuzzing import _with_alarm

    text = "# c\n" * 245_000 + "stage conv x1 dim 8  # the network\n"
    doc = _with_alarm(90, document, text)
    assert len(doc.comments) == 245_001 and doc.comments[-1].span.line == 245_001
