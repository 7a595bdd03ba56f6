"""`--set KEY=VALUE`: every key does what editing the spec would, unknown keys get a hint,
bad values get the diagnostic the same text in a file would (the CLI's report is
tests/e2e/test_overrides_cli.py)."""

from __future__ import annotations

import re

import pytest
from support.paths import REPO

import spachc
from spachc import SpecError
from spachc.cli.common import SET_OPTION_HELP
from spachc.lang.overrides import HELP, KEYS

BASE = """\
model base
input 32
classes 10
stem patch 4
defaults heads 2 channel_ratio 2
stage conv x1 dim 16
-> down -> stage conv x1, trans x1 heads 4 channel_ratio 3
-> down -> stage mlp x2 token_ratio 0.5 layerscale 1e-3
"""

NO_CONV = BASE.replace("stage conv x1 dim 16", "stage trans x1 dim 16").replace("conv x1, trans x1", "trans x2")


def load(*overrides: str, text: str = BASE) -> spachc.Spec:
    return spachc.parse(text, "base.spach", overrides=list(overrides))


def diagnostic(*overrides: str, text: str = BASE):
    with pytest.raises(SpecError) as caught:
        load(*overrides, text=text)
    return caught.value.diagnostics[0]


# Each key against the same change made by hand in the text: equal architectures, equal hashes.
SAME_AS_EDITING = [
    ("input=64", BASE.replace("input 32", "input 64")),
    ("input=64x32 channels 1", BASE.replace("input 32", "input 64x32 channels 1")),
    ("classes=7", BASE.replace("classes 10", "classes 7")),
    ("stem=conv4 patch 4 hidden 8", BASE.replace("stem patch 4", "stem conv4 patch 4 hidden 8")),
    ("drop_path=0.3", BASE + "drop_path 0.3\n"),
    ("dim=8", BASE.replace("dim 16", "dim 8")),
    ("heads=8", BASE.replace("heads 2", "heads 8").replace(" heads 4", "")),
    ("channel_ratio=4", BASE.replace("channel_ratio 2", "channel_ratio 4").replace(" channel_ratio 3", "")),
    ("token_ratio=1", BASE.replace("token_ratio 0.5", "token_ratio 1")),
    ("layerscale=off", BASE.replace("layerscale 1e-3", "layerscale off").replace("heads 2", "heads 2 layerscale off")),
    ("layerscale=0.01", BASE.replace("layerscale 1e-3", "layerscale 0.01").replace("heads 2", "heads 2 layerscale 0.01")),
    ("qkv_bias=off", BASE.replace("heads 4", "heads 4 qkv_bias off")),
    ("cpe=off", NO_CONV.replace("heads 2", "heads 2 cpe off")),
]


def test_every_key_is_covered_here_and_documented():
    tested = {item.split("=")[0] for item, _ in SAME_AS_EDITING} | {"model"}
    assert tested == set(KEYS)
    docs = (REPO / "docs" / "overrides.md").read_text()
    for key in KEYS:
        assert key in SET_OPTION_HELP and key in HELP, key
        assert re.search(rf"^\| `{key}=", docs, flags=re.M), f"docs/overrides.md has no row for {key}"


@pytest.mark.parametrize("item, edited", SAME_AS_EDITING, ids=[i for i, _ in SAME_AS_EDITING])
def test_a_key_does_what_editing_the_spec_does(item, edited):
    source = NO_CONV if item == "cpe=off" else BASE
    overridden, by_hand = load(item, text=source), spachc.parse(edited, "base.spach")
    assert overridden == by_hand
    assert overridden.hash != load(text=source).hash  # and it changed something


def test_key_effects_in_the_ir():
    assert load("model=renamed").name == "renamed"
    assert load("model=renamed").hash == load().hash  # a name is a label, not architecture
    assert [s.grid for s in load("input=64").stages] == [(16, 16), (8, 8), (4, 4)]
    assert [s.dim for s in load("dim=8").stages] == [8, 16, 32]
    assert [s.heads for s in load("heads=8").stages] == [None, 8, None]  # replaces the stage's own `heads 4`
    assert [s.channel_hidden for s in load("channel_ratio=4").stages] == [64, 128, 256]
    assert load("token_ratio=1").stages[2].token_hidden == 4  # a 2x2 grid
    assert [b.drop_path for b in load("drop_path=0.3").blocks] == pytest.approx([0, 0.075, 0.15, 0.225, 0.3])  # 5 blocks
    assert [s.layerscale for s in load("layerscale=off").stages] == [None, None, None]
    assert load("qkv_bias=off").stages[1].qkv_bias is False
    assert load("classes=5", "classes=6").classes == 6  # the last one wins
    assert spachc.summary(load("classes=7")).head_params == 2 * 64 + 64 * 7 + 7


def test_unknown_key_gets_a_hint():
    d = diagnostic("hedas=2")
    assert (d.code, d.message, d.hint) == ("E601", "unknown --set key 'hedas'", "did you mean 'heads'?")
    assert (d.file, d.line, d.column) == ("--set hedas=2", 1, 1)
    d = diagnostic("colour=blue")
    assert d.hint == "valid keys: " + ", ".join(KEYS)
    assert diagnostic("shared=on").message == "unknown --set key 'shared'"  # a per-stage flag, not a --set key
    d = diagnostic("heads")
    assert (d.message, d.hint) == ("expected KEY=VALUE", "write heads=VALUE")


@pytest.mark.parametrize("item, code, column, words", [
    ("heads=abc", "E101", 7, "expected a number, found 'abc'"),
    ("cpe=maybe", "E102", 5, "unknown keyword 'maybe'"),
    ("drop_path=1", "E304", 11, "drop_path must satisfy 0 <= rate < 1, got 1"),
    ("classes=0", "E302", 9, "classes must be at least 1, got 0"),
    ("input=30", "E401", 7, "not divisible by the stem's patch 4"),
    ("heads=3", "E404", 1, "heads 3 does not divide dim 32"),
    ("cpe=off", "E502", 1, "conv blocks with `cpe off` mix nothing spatially"),
    ("dim=", "E105", 4, "expected a number"),
    ("classes=10 classes 5", "E101", 12, "found 'classes'"),
])
def test_bad_values_point_at_the_override(item, code, column, words):
    d = diagnostic(item)
    assert (d.code, d.file, d.line, d.column) == (code, f"--set {item}", 1, column)
    assert words in d.message


def test_every_command_that_builds_a_spec_takes_the_same_set_option():
    import typer.main

    from spachc.cli.app import app

    commands = typer.main.get_command(app).commands
    for name in ("build", "graph", "train", "eval", "bench", "export"):
        assert name in commands, f"spachc {name} is not registered"
        options = {opt: p for p in commands[name].params for opt in getattr(p, "opts", [])}
        assert "--set" in options, f"spachc {name} has no --set"
        assert options["--set"].multiple and options["--set"].help == SET_OPTION_HELP, name
