"""Every syntax error and static rule: its code, and the line and column it points at."""

from __future__ import annotations

import pytest

import spachc
from spachc.diagnostics import SpecError

BASE = "input 32\nstem patch 4\n"


def diagnose(text: str):
    with pytest.raises(SpecError) as info:
        spachc.parse(text, source="t.spach")
    return info.value.diagnostics


def only_error(text: str):
    errors = [d for d in diagnose(text) if d.severity == "error"]
    assert len(errors) == 1, [d.render() for d in errors]
    return errors[0]


@pytest.mark.parametrize("text, code, line, column, needle", [
    # syntax
    (BASE + "stage conv x2 dim 8 ?", "E100", 3, 21, "unexpected character '?'"),
    (BASE + "stage conv x2 dim 8 -> stage conv x1", "E101", 3, 24, "expected 'down'"),
    (BASE + "stage conv x2 dimm 8", "E102", 3, 15, "unknown keyword 'dimm'"),
    ("clases 10\n" + BASE + "stage conv x1 dim 8", "E102", 1, 1, "unknown keyword 'clases'"),
    (BASE + "stage tran x2 dim 8", "E103", 3, 7, "unknown block kind 'tran'"),
    (BASE + "stage conv x 2 dim 8", "E104", 3, 12, "repeat count"),
    (BASE + "stage conv x2 dim", "E105", 3, 18, "unexpected end of file"),
    (BASE + "stage conv x1 dim 8\nclasses 3\nstage trans x1", "E106", 5, 1, "exactly one pipeline"),
    (BASE, "E107", 2, 13, "no pipeline"),
    # E108 (no `input`) and E109 (no `stem`) are retired: both have defaults now
    ("", "E002", 1, 1, "empty"),
    # duplicates and misplaced options
    ("classes 3\n" + BASE + "classes 4\nstage conv x1 dim 8", "E201", 4, 1, "`classes` is given twice"),
    (BASE + "stage conv x1 dim 8 cpe on\n  cpe off", "E202", 4, 3, "option `cpe` is given twice"),
    ("defaults heads 2 heads 4\n" + BASE + "stage trans x1 dim 8", "E202", 1, 18, "in defaults"),
    ("input 32\nstem conv1 patch 4 hidden 8\nstage conv x1 dim 8", "E203", 2, 20, "only meaningful with the conv4"),
    # values
    (BASE + "stage conv x1 dim 8.5", "E301", 3, 19, "dim must be an integer"),
    (BASE + "stage conv x0 dim 8", "E302", 3, 12, "a repeat count must be at least 1"),
    (BASE + "stage conv x1 dim 0", "E302", 3, 15, "dim must be at least 1"),
    ("input 32\nclasses 0\nstem patch 4\nstage conv x1 dim 8", "E302", 2, 9, "classes must be at least 1"),
    (BASE + "stage conv x1 dim 8 channel_ratio -1", "E303", 3, 21, "channel_ratio must be greater than 0"),
    (BASE + "stage mlp x1 dim 8 layerscale 0", "E303", 3, 20, "layerscale must be greater than 0"),
    ("drop_path 1\n" + BASE + "stage conv x1 dim 8", "E304", 1, 11, "drop_path must satisfy"),
    (BASE + "stage conv x1 dim 8 channel_ratio 0.1", "E305", 3, 21, "0 hidden units"),
    (BASE + "stage mlp x1 dim 8 token_ratio 0.01", "E305", 3, 20, "token-MLP"),
    (BASE + "stage conv x1 dim 8 channel_ratio 1e400", "E306", 3, 35, "out of range"),
    (BASE + "stage conv x9999999999 dim 8", "E306", 3, 12, "out of range"),
    (BASE + "stage conv x60000 dim 8 -> down -> stage conv x60000", "E311", 3, 1, "the limit is 100,000"),
    # geometry
    ("input 30\nstem patch 4\nstage conv x1 dim 8", "E401", 1, 7, "not divisible by the stem's patch 4"),
    ("input 32\nstem conv4 patch 1\nstage conv x1 dim 8", "E402", 2, 18, "even patch"),
    ("input 24\nstem patch 4\nstage conv x1 dim 8\n-> down -> stage conv x1\n-> down -> stage conv x1",
     "E403", 5, 4, "even sides"),
    (BASE + "stage trans x1 dim 8 heads 3", "E404", 3, 22, "heads 3 does not divide dim 8"),
    ("defaults heads 3\n" + BASE + "stage trans x1 dim 8 heads 2 -> down -> stage trans x1", "E404", 1, 10,
     "heads 3 does not divide dim 16"),
    # E405 (no `heads`) only reaches IR read from JSON now: text gets max(1, dim // 32)
    (BASE + "stage trans x1 dim 64\n-> down -> stage trans x1 dim 65", "E404", 4, 12,
     "heads 2 does not divide dim 65"),
    (BASE + "stage conv x1", "E406", 3, 1, "first stage needs a `dim`"),
    # structure
    (BASE + "stage conv x1, trans x1, mlp x1 dim 8 heads 2 shared", "E501", 3, 47, "exactly one non-conv"),
    (BASE + "stage conv x2 dim 8 shared", "E501", 3, 21, "only conv blocks"),
    (BASE + "stage conv x1, mlp x1 dim 8 cpe off", "E502", 3, 29, "mix nothing spatially"),
])
def test_error_code_and_position(text, code, line, column, needle):
    d = only_error(text)
    assert (d.code, d.line, d.column) == (code, line, column), d.render()
    assert needle in d.message, d.message
    assert d.file == "t.spach"


def test_hints_name_the_closest_word():
    assert only_error(BASE + "stage tran x2 dim 8").hint == "did you mean 'trans'?"
    assert only_error(BASE + "stage conv x2 dimm 8").hint == "did you mean 'dim'?"
    assert only_error("inptu 32\nstem patch 4\nstage conv x1 dim 8").hint == "did you mean 'input'?"
    assert "conv, trans or mlp" in only_error(BASE + "stage zzz x2 dim 8").hint


def test_duplicates_name_both_places():
    d = only_error("classes 3\n" + BASE + "classes 4\nstage conv x1 dim 8")
    assert d.notes[0].span.line == 1 and d.notes[0].span.column == 1


@pytest.mark.parametrize("text, code, line, column", [
    (BASE + "stage trans x1 dim 36 heads 3", "W101", 3, 23),
    (BASE + "stage trans x1 dim 1024 heads 2", "W102", 3, 25),
    (BASE + "stage conv x1 dim 8 token_ratio 0.25", "W103", 3, 21),
])
def test_warnings_do_not_stop_the_build(text, code, line, column):
    resolved = spachc.lang.frontend.resolve_text(text, "t.spach")
    assert [(w.code, w.line, w.column) for w in resolved.warnings] == [(code, line, column)]
    assert resolved.warnings[0].severity == "warning"


def test_rendered_diagnostic_has_location_source_line_caret_and_hint():
    d = only_error(BASE + "stage tran x2 dim 8")
    assert d.render().splitlines() == [
        "t.spach:3:7: error[E103]: unknown block kind 'tran'",
        "  |",
        "3 | stage tran x2 dim 8",
        "  |       ^^^^",
        "  = hint: did you mean 'trans'?",
    ]


def test_all_errors_are_reported_together_in_source_order():
    codes = [(d.code, d.line) for d in diagnose(
        "input 32\nclasses 0\nstem patch 4\nstage trans x1 dim 8 heads 3 -> down -> stage conv x0")]
    assert codes == [("E302", 2), ("E404", 4), ("E302", 4)]


def test_spec_error_is_a_value_error_with_structured_diagnostics():
    with pytest.raises(ValueError) as info:
        spachc.parse("input 32")
    d = info.value.diagnostics[0]
    assert {"code", "message", "line", "column"} <= set(d.to_dict())


def test_the_diagnostics_package_is_the_bottom_layer():
    """Every other package reports through it, so it imports nothing else of spachc
    (an import cycle waiting to happen) and no third-party library."""
    import ast
    import sys
    from pathlib import Path

    package = Path(spachc.__file__).parent / "diagnostics"
    outside = []
    for path in sorted(package.glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom):
                names = [f"{'.' * node.level}{node.module or ''}"]
            elif isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            else:
                continue
            outside += [f"{path.name}: {name}" for name in names
                        if (name.startswith("..") or name.split(".")[0] == "spachc"
                            or not (name.startswith(".") or name.split(".")[0] in sys.stdlib_module_names))]
    assert len(list(package.glob("*.py"))) >= 8
    assert outside == []


def test_rendering_is_the_same_through_the_model_and_the_emitters():
    from spachc.diagnostics import Note, Source, Span, error_at, render_dict, render_text

    source = Source("x.spach", "stage conv x1 dim 8\n")
    d = error_at("E302", "a count", Span.at_offset(source, 15, 18), hint="write 1", notes=(Note("here"),))
    assert d.render() == render_text(d) and d.to_dict() == render_dict(d)
    assert render_text(d).splitlines() == [
        "x.spach:1:16: error[E302]: a count", "  |", "1 | stage conv x1 dim 8", "  |                ^^^",
        "  = note: here", "  = hint: write 1"]
    assert render_dict(d)["end_column"] == 19 and render_dict(d)["notes"] == [
        {"message": "here", "line": None, "column": None}]
