"""Limits on the language: a choice value that does not fit its place is one coded error at the
value, `where` bounds are finite, ranges are bounded before Python reads them, the work of
`check` and `sweep sample` is bounded before anything is enumerated, and each syntax error is
reported once. Every case here escaped as a traceback, or ran for minutes, before its fix (the
stress runs of the same limits are tests/e2e/test_language_limits_stress.py)."""

from __future__ import annotations

import itertools

import pytest

from spachc.diagnostics import Source, Span, SpecError
from spachc.lang import space
from spachc.lang.frontend import check_text_with_census, document
from spachc.lang.parser import MAX_SPEC_BYTES, parse_document

BASE = "input 32\nclasses 10\n"


def _errors(text: str) -> list[tuple[str, int, int]]:
    diagnostics, _ = check_text_with_census(text)
    return [(d.code, d.line, d.column) for d in diagnostics if d.severity == "error"]


# --- a value that does not fit its place (E110), at the value ---------------------------------

@pytest.mark.parametrize("text, line, bad", [
    # a number where a kind goes (KeyError before): at '2' in the `choose` line
    (BASE + "choose k {2 | 3}\nstage $k x1 dim 16\n", 3, "2"),
    # a kind as a repeat count (ValueError before)
    (BASE + "stage conv x{conv | trans} dim 16\n", 3, "conv"),
    # `on` for a ratio (ValueError before)
    (BASE + "stage trans x1 dim 16 heads 2 layerscale {1e-5 | on}\n", 3, "on"),
    (BASE + "stage conv x1 dim 16 channel_ratio {2 | off}\n", 3, "off"),
    # a number for a switch (silently read as `off` before)
    (BASE + "stage conv x1 dim 16 cpe {1 | on}\n", 3, "1"),
    # a kind for the input size, a fraction as a repeat count
    (BASE.replace("input 32", "input {32 | conv}") + "stage conv x1 dim 16\n", 1, "conv"),
    (BASE + "stage conv x{1 | 1.5} dim 16\n", 3, "1.5"),
    # in `defaults`, by the option's own type
    (BASE + "defaults heads {2 | trans}\nstage trans x1 dim 16\n", 3, "trans"),
])
def test_a_value_that_does_not_fit_its_place_is_E110_at_the_value(text, line, bad):
    written = text.splitlines()[line - 1]
    column = written.index(bad, written.index("{")) + 1  # the alternative inside the braces
    assert _errors(text) == [("E110", line, column)]


def test_a_named_choice_used_in_the_wrong_place_notes_the_use():
    text = BASE + "choose k {2 | 3}\nstage $k x1 dim 16\n"
    diagnostics, _ = check_text_with_census(text)
    (d,) = diagnostics
    assert d.code == "E110" and "block kind" in d.message
    assert [(n.span.line, n.span.column) for n in d.notes] == [(4, 7)]  # `$k` in the stage


def test_values_that_fit_their_places_are_still_a_space():
    text = BASE + "choose k {conv | trans}\nstage $k x{1..2} dim {16 | 32} heads 2 layerscale {1e-5 | off} cpe {on | off}\n"
    diagnostics, census = check_text_with_census(text)
    assert [d for d in diagnostics if d.severity == "error"] == []
    assert census.exact and census.combinations == 2 * 2 * 2 * 2 * 2


# --- `where` bounds and range ends -----------------------------------------------------------

@pytest.mark.parametrize("bound", ["macs < 1e400", "params <= 1e999", "macs 1.." + "9" * 400])
def test_where_bounds_must_be_finite(bound):
    # lark's VisitError wrapping an OverflowError (infinity) escaped before
    assert _errors(BASE + f"stage conv x{{1..2}} dim 16\nwhere {bound}\n") == [("E111", 4, 7)]


def test_a_huge_finite_bound_is_still_a_bound():
    _, census = check_text_with_census(BASE + "stage conv x{1..2} dim 16\nwhere macs <= 1e300\n")
    assert census.valid == census.meeting == 2


@pytest.mark.parametrize("range_text", ["1.." + "9" * 5000, "9" * 5000 + "..1", "1..9999999999999"])
def test_a_range_bound_of_thousands_of_digits_is_E163_not_the_int_limit(range_text):
    # int('9' * 5000) raises ValueError (Python's 4,300-digit limit) before the fix
    assert _errors(BASE + f"stage conv x{{{range_text}}} dim 16\n") == [("E163", 3, 14)]
    assert _errors(BASE + f"choose d {{{range_text}}}\nstage conv x1 dim $d\n") == [("E163", 3, 11)]


# --- the work of check and sample is bounded before enumerating ------------------------------

def test_block_counter_counts_the_blocks_each_combination_resolves_to():
    """The estimate the work limit rests on, against the resolver, for every combination."""
    doc = document(BASE + "choose d {1..3}\n{ stage conv x$d, trans x{1 | 4} dim 16 heads 2 "
                   "| stage mlp x2 dim 8 -> down -> stage conv x$d }\n")
    dims = space.dimensions(doc)
    blocks = space.block_counter(doc, dims)
    checked = 0
    for picks in itertools.product(*(range(len(d.items)) for d in dims)):
        o = space.evaluate(doc, dims, picks)
        if o.spec is not None:
            assert blocks(picks) == sum(len(s.blocks) for s in o.spec.stages)
            checked += 1
    assert checked == space.combinations(dims) == 12


def test_a_space_of_huge_networks_is_refused_E112_not_enumerated():
    # 28 bytes; enumerating its 4,096 networks of up to 4,096 blocks took 262 s before
    diagnostics, census = check_text_with_census("stage conv x{1..4096} dim 8")
    assert census is None and [(d.code, d.line, d.column) for d in diagnostics] == [("E112", 1, 14)]
    assert "blocks" in diagnostics[0].message


def test_sample_of_a_space_of_huge_networks_draws_without_enumerating():
    # `sweep sample -n 5` took 284 s and 4.5 GB before: it enumerated every network
    doc = document("input 32\nclasses 10\nstage conv x{1..4096} dim 8\n")
    outcomes, how = space.sample(doc, 5, seed=0)
    assert len({o.spec.hash for o in outcomes}) == 5
    assert how["sampler"].startswith("uniform per choice") and how["draws"] >= 5


# --- parsing is linear ----------------------------------------------------------------------

def test_comment_spans_are_the_offsets_line_and_column():
    text = "# first\ninput 32  # size\n\n\tstage conv x1 dim 8 #x\n#\n# last"
    doc = document(text)
    expected = [Span.at_offset(doc.source, i, text.index("\n", i) if "\n" in text[i:] else len(text))
                for i, ch in enumerate(text) if ch == "#" and (i == 0 or text[i - 1] != "#")]
    assert [c.span for c in doc.comments] == expected
    assert [(c.span.line, c.span.column) for c in doc.comments] == [(1, 1), (2, 11), (4, 22), (5, 1), (6, 1)]


def test_text_over_the_size_limit_is_refused_wherever_it_comes_from():
    # a spec embedded in a header is given to the parser without `decode`'s size check
    with pytest.raises(SpecError) as info:
        parse_document(Source("<header>", "#" * (MAX_SPEC_BYTES + 1)))
    assert [d.code for d in info.value.diagnostics] == ["E003"]


# --- one value breaking several stages is one diagnostic ------------------------------------

def test_defaults_heads_breaking_two_stages_prints_once_naming_both():
    text = "input 32\ndefaults heads 3\nstage trans x1 dim 64 -> down -> stage trans x1\n"
    diagnostics, _ = check_text_with_census(text)
    (d,) = diagnostics  # twice at the same caret before
    assert (d.code, d.line, d.column) == ("E404", 2, 10)
    assert d.message == ("heads 3 does not divide dim 64 (stage 1); heads 3 does not divide dim 128 (stage 2)")


def test_one_stage_broken_by_defaults_keeps_its_plain_message():
    text = "input 32\ndefaults heads 3\nstage trans x1 dim 8 heads 2 -> down -> stage trans x1\n"
    (d,) = [d for d in check_text_with_census(text)[0] if d.severity == "error"]
    assert (d.code, d.line, d.column, d.message) == ("E404", 2, 10, "heads 3 does not divide dim 16")


# --- every syntax error of a file in one run ---------------------------------------------

def _syntax(text: str) -> list[tuple[str, int, int]]:
    with pytest.raises(SpecError) as info:
        document(text, "t.spach")
    return [(d.code, d.line, d.column) for d in info.value.diagnostics]


def test_each_statement_after_the_first_syntax_error_reports_its_own():
    text = ("input 32\nstem conv1 patch 4\ndefaults heads 2 dimm 3\nstage conv x2 dim 16\n"
            "-> down -> stage tran x1\nclasses 10 ?\n")
    # three typos in three statements: one run reports all three (only the first before)
    assert _syntax(text) == [("E102", 3, 18), ("E103", 5, 18), ("E100", 6, 12)]


def test_a_statement_cut_short_is_reported_once_not_as_an_end_of_file_too():
    # `dim` without its number: the parser stops at the next line's `stage`; that statement is
    # fine alone, and the cut one is not reported again as "unexpected end of file"
    assert _syntax("input 32\nstage conv x2 dim\nstage trans x1 dim 8\n") == [("E101", 3, 1)]
    assert _syntax("input 32\nstage conv x2 dim 8 ?\nclasses 10\n") == [("E100", 2, 21)]


def test_choices_across_lines_are_one_statement():
    text = "input 32\nclasses 10 10\n{\n  stage conv x1 dim 8\n| stage trans x1 dim 8 heads 2\n}\nwhere params <= 1M ?\n"
    assert _syntax(text) == [("E101", 2, 12), ("E100", 7, 20)]
