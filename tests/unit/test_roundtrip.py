"""Round trips: IR -> canonical text -> IR, JSON, hashes, and `fmt` (idempotent, keeps comments)."""

from __future__ import annotations

import re

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from support.strategies import layouts, specs

import spachc
from spachc.lang.frontend import fmt_text
from spachc.lang.ir import Spec
from spachc.lang.resources import zoo_names

SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@SETTINGS
@given(specs())
def test_canonical_text_parses_back_to_the_same_ir(spec):
    text = spachc.to_text(spec)
    assert spachc.parse(text) == spec
    assert fmt_text(text) == text  # to_text is already canonical


@SETTINGS
@given(specs())
def test_json_round_trip_and_hash(spec):
    again = Spec.from_json(spec.to_json())
    assert again == spec and again.hash == spec.hash
    renamed = spec.model_copy(update={"name": spec.name + "_b"})
    assert renamed.hash == spec.hash  # a name is a label, not architecture


@SETTINGS
@given(st.data())
def test_fmt_is_idempotent_keeps_comments_and_meaning(data):
    spec = data.draw(specs())
    text, comments = data.draw(layouts(spachc.to_text(spec)))
    once = fmt_text(text)
    assert fmt_text(once) == once
    assert sorted(re.findall(r"#[^\n]*", once)) == sorted(comments)
    assert spachc.parse(once) == spachc.parse(text) == spec


def test_hash_ignores_formatting_but_not_architecture():
    a = spachc.parse("input 32\nstem patch 4\ndefaults heads 2\nstage trans x2 dim 16 # c\n")
    b = spachc.parse("  input   32 stem conv1 patch 4 stage trans x2 dim 16 heads 2 token_ratio 0.5")
    c = spachc.parse("input 32 stem patch 4 stage trans x2 dim 16 heads 4")
    assert a.hash == b.hash != c.hash


def test_zoo_specs_are_canonical():
    for name in zoo_names():
        path = spachc.lang.frontend.locate(name)
        assert fmt_text(path.read_text()) == path.read_text(), name


def test_fmt_places_comments_and_orders_statements():
    text = (
        "# header\n"
        "stage conv x1 dim 8   # first stage\n"
        "  -> down ->\n"
        "  # about stage two\n"
        "  stage trans x2 heads 2 cpe on dim 16\n"
        "stem patch 4 # stem\n"
        "input 0032\n"
        "defaults token_ratio 0.50 channel_ratio 3.0\n"
        "# the end\n"
    )
    assert fmt_text(text) == (
        "input 32\n"
        "stem conv1 patch 4  # stem\n"
        "defaults channel_ratio 3 token_ratio 0.5\n"
        "\n"
        "# header\n"
        "stage conv x1 dim 8  # first stage\n"
        "# about stage two\n"
        "-> down -> stage trans x2 dim 16 heads 2 cpe on\n"
        "# the end\n"
    )


def test_numbers_are_printed_in_shortest_exact_form():
    from spachc.lang.printer import format_number

    cases = {3.0: "3", 0.5: "0.5", 1e-4: "1e-4", 0.0001234: "1.234e-4", 1000.0: "1e3", 0.25: "0.25",
             1e-6: "1e-6", 2.75: "2.75", 123456.0: "123456"}
    for value, text in cases.items():
        assert format_number(value) == text
        assert float(text) == value


def test_names_that_start_like_a_repeat_count():
    # Found by the fuzzer: `x0A` was lexed as the repeat count `x0` followed by `A`.
    for name in ("x0A", "x3", "x3.b", "x1-2"):
        spec = spachc.parse(f"model {name} input 32 stem patch 4 stage conv x1, mlp x2 dim 8-> down ->stage conv x3,mlp x1")
        assert spec.name == name
        assert spachc.parse(spachc.to_text(spec)) == spec


def test_ir_from_json_obeys_the_same_rules():
    import json

    import pydantic
    import pytest

    good = json.loads(spachc.load("hybrid_s").to_json())
    tampered = [
        (("stages", 0, "grid"), [5, 5], "E309"),           # derived field out of step with the rest
        (("stages", 1, "heads"), 3, "E404"),              # a static rule, as for text
        (("stages", 0, "channel_hidden"), 7, "E309"),
        (("drop_path",), 1.5, "drop_path"),              # a field constraint
    ]
    for path, value, code in tampered:
        data = json.loads(json.dumps(good))
        target = data
        for key in path[:-1]:
            target = target[key]
        target[path[-1]] = value
        with pytest.raises(pydantic.ValidationError, match=code):
            Spec.model_validate(data)
    with pytest.raises(pydantic.ValidationError, match="extra"):
        Spec.model_validate({**good, "unknown_field": 1})


def test_fmt_keeps_a_number_that_overflows_to_infinity_as_written():
    """1e400 is no float: `check` rejects it (E304-family range rules), `fmt` must not crash on it.
    Found by the grammar-aware fuzzer."""
    from spachc.lang.frontend import fmt_text

    text = "stage conv x2 dim 96 channel_ratio 1e400\n"
    assert "channel_ratio 1e400" in fmt_text(text)
