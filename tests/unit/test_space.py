"""Design spaces in the language: choices get labels and instantiate to plain specs, and mistakes
in a space are coded diagnostics at their text (counts, sampling and the CLI are
tests/e2e/test_space_cli.py)."""

from __future__ import annotations

import pytest

from spachc.diagnostics import SpecError
from spachc.lang import space
from spachc.lang.frontend import document, parse


def test_choices_get_labels_and_instantiate_to_plain_specs():
    doc = document("input 32\nclasses 10\nstem conv1 patch {2 | 4}\ndefaults channel_ratio {2 | 3}\n"
                   "{ stage {conv | mlp} x{1..3} dim 16 | stage conv x1 dim {8 | 16} -> down -> stage trans x2 heads 2 }\n")
    dims = space.dimensions(doc)
    assert [(d.label, d.texts) for d in dims] == [
        ("stem.patch", ("2", "4")), ("channel_ratio", ("2", "3")), ("pipeline", ("1", "2")),
        ("pipeline1.stage1.kind", ("conv", "mlp")), ("pipeline1.stage1.depth", ("1", "2", "3")),
        ("pipeline2.stage1.dim", ("8", "16"))]
    picks = {"stem.patch": 1, "channel_ratio": 0, "pipeline": 0, "pipeline1.stage1.kind": 1,
             "pipeline1.stage1.depth": 2, "pipeline2.stage1.dim": 0}
    from spachc.lang.resolve import resolve

    spec = resolve(space.instantiate(doc, picks)).spec
    assert spec == parse("input 32\nclasses 10\nstem conv1 patch 4\nstage mlp x3 dim 16 channel_ratio 2\n")
    # a sample's recorded choices leave out those inside the pipeline it did not take
    made = space.choices_of(dims, tuple(picks[d.label] for d in dims))
    assert made == {"stem.patch": "4", "channel_ratio": "2", "pipeline": "1", "pipeline1.stage1.kind": "mlp",
                    "pipeline1.stage1.depth": "3"}


def _errors(text):
    with pytest.raises(SpecError) as info:
        doc = document(text, "s.spach")
        diagnostics = space.check_space(doc)[1]
        if any(d.severity == "error" for d in diagnostics):
            raise SpecError(diagnostics)
    return [(d.code, d.line, d.column) for d in info.value.diagnostics]


def test_mistakes_in_a_space_are_coded_diagnostics_at_their_text():
    base = "input 32\nclasses 10\nstem conv1 patch 4\n"
    assert _errors(base + "stage $fam x1 dim 16\n") == [("E161", 4, 7)]
    assert _errors(base + "choose a {1 | 2}\nchoose a {3}\nstage conv x$a dim 16\n") == [("E162", 5, 8)]
    assert _errors(base + "stage conv x{3..1} dim 16\n") == [("E163", 4, 14)]
    assert _errors(base + "stage conv x1 dim {16 | 16}\n") == [("E163", 4, 25)]
    assert _errors(base + "stage conv x1 dim 16\nwhere flops <= 1M\n") == [("E164", 5, 7)]
    assert _errors(base + "stage conv x1 dim 16\nwhere macs 2M..1M\n") == [("E164", 5, 7)]
    # patch 5 never divides the input 32, whatever else is chosen
    assert _errors("input 32\nclasses 10\nstem conv1 patch {4 | 5}\nstage conv x1 dim 16\n") == [("E166", 3, 23)]
    assert _errors(base + "stage conv x{1..2} dim 16\nwhere params >= 1G\n") == [("E167", 5, 7)]
    diagnostics, _ = check_with_census_text(base + "choose unused {1 | 2}\nstage conv x{1..2} dim 16\n")
    assert [(d.code, d.severity) for d in diagnostics] == [("W160", "warning")]


def check_with_census_text(text):
    return space.check_space(document(text, "s.spach"))[1], None
