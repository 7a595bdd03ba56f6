"""The diff engine behind `spachc diff`: architectures compared, not texts (the command, REV:path
from git and the git diff driver are tests/e2e/test_diff_cli.py)."""

from __future__ import annotations

import pytest

import spachc
from spachc.lang.diffing import block_delta, diff_specs

TINY = """\
model tiny
input 32
classes 10
stem patch 4
defaults heads 2
stage conv x1 dim 16
-> down -> stage conv x1, trans x1
"""


def _conv_block_params(dim: int, ratio: int) -> int:
    """One conv block by hand (SPACH.md): LN2, channel MLP with biases, 3x3 depthwise CPE with bias."""
    hidden = dim * ratio
    return 2 * dim + (dim * hidden + hidden) + (hidden * dim + dim) + (dim * 9 + dim)


def test_hybrid_xs_to_hybrid_s_matches_the_zoo_table():
    d = diff_specs(spachc.load("hybrid_xs"), spachc.load("hybrid_s"), "hybrid_xs", "hybrid_s")
    assert not d.same
    # SPACH.md zoo table: 27,956,584 params / 4.444 GMACs -> 63,028,584 / 11.051 GMACs
    assert (d.params_before, d.params_after, d.params_delta) == (27_956_584, 63_028_584, 35_072_000)
    assert (round(d.macs_before / 1e9, 3), round(d.macs_after / 1e9, 3)) == (4.444, 11.051)
    assert sum(p.params_delta for p in d.parts) == d.params_delta
    assert sum(p.macs_delta for p in d.parts) == d.macs_delta
    assert [p.part for p in d.parts] == ["stem", "stage 1", "stage 2", "stage 3", "stage 4", "head"]

    stage1 = d.parts[1]  # conv x3 in both, by hand: 96 wide ratio 2 -> 128 wide ratio 3
    assert (stage1.params_before, stage1.params_after) == (3 * _conv_block_params(96, 2), 3 * _conv_block_params(128, 3))
    assert {(c.field, c.before, c.after) for c in stage1.changes} == {("dim", 96, 128), ("channel_ratio", 2.0, 3.0)}
    assert stage1.block_changes == ()

    stage2 = d.parts[2]
    assert (stage2.blocks_before, stage2.blocks_after) == ("conv x4", "conv x2, trans x2")
    assert stage2.block_changes == ("changed conv -> trans x2",)
    assert ("heads", None, 4) in {(c.field, c.before, c.after) for c in stage2.changes}
    for part, sa_stage, sb_stage in zip(d.parts[1:5], spachc.summary(spachc.load("hybrid_xs")).stages,
                                        spachc.summary(spachc.load("hybrid_s")).stages):
        assert (part.params_before, part.params_after, part.macs_before, part.macs_after) == (
            sa_stage.params, sb_stage.params, sa_stage.macs, sb_stage.macs)
    head = d.parts[-1]  # LayerNorm + Linear(C, 1000): 768 -> 1024 wide
    assert (head.params_before, head.params_after) == (2 * 768 + 768 * 1000 + 1000, 2 * 1024 + 1024 * 1000 + 1000)


def test_added_and_removed_stages_and_blocks():
    one = spachc.parse(TINY.replace("-> down -> stage conv x1, trans x1\n", ""))
    two = spachc.parse(TINY)
    d = diff_specs(one, two)
    assert [p.status for p in d.parts] == ["same", "same", "added", "changed"]  # the head widens 16 -> 32
    assert (d.parts[3].params_before, d.parts[3].params_after) == (2 * 16 + 16 * 10 + 10, 2 * 32 + 32 * 10 + 10)
    added = d.parts[2]
    assert (added.params_before, added.params_after) == (0, spachc.summary(two).stages[1].params)
    assert added.blocks_after == "conv x1, trans x1"
    back = diff_specs(two, one)
    assert back.parts[2].status == "removed" and back.params_delta == -d.params_delta
    more = spachc.parse(TINY.replace("conv x1, trans x1", "conv x1, trans x3, mlp x1"))
    assert block_delta(two.stages[1], more.stages[1]) == ("added trans x2", "added mlp x1")


def test_top_level_changes_are_reported():
    small = spachc.parse(TINY.replace("input 32", "input 64").replace("classes 10", "classes 7"))
    d = diff_specs(spachc.parse(TINY), small)
    assert [(c.field, c.before, c.after) for c in d.model_changes] == [("input", (32, 32), (64, 64))]
    assert [(c.field, c.before, c.after) for c in d.parts[-1].changes] == [("classes", 10, 7)]
    assert [(c.field, c.before, c.after) for c in d.parts[1].changes] == [("grid", (8, 8), (16, 16))]


MIXED = TINY.replace("conv x1, trans x1", "conv x1, trans x1, mlp x1")


@pytest.mark.parametrize("edit", [
    ("model tiny", "model other"), ("input 32", "input 32 channels 1"), ("classes 10", "classes 11"),
    ("stem patch 4", "stem conv4 patch 4 hidden 8"), ("stem patch 4", "stem patch 4\ndrop_path 0.2"),
    ("dim 16", "dim 24"), ("heads 2", "heads 4"), ("trans x1, mlp x1", "trans x1, mlp x1 channel_ratio 3"),
    ("trans x1, mlp x1", "trans x1, mlp x1 token_ratio 0.25"), ("trans x1, mlp x1", "trans x1, mlp x1 layerscale 1e-2"),
    ("trans x1, mlp x1", "trans x1, mlp x1 qkv_bias off"), ("conv x1, trans x1, mlp x1", "conv x1, mlp x2 shared"),
    ("conv x1, trans x1, mlp x1", "conv x1, mlp x1, trans x1"),
], ids=lambda e: e[1].replace(" ", "_"))
def test_every_difference_in_the_ir_is_shown(edit):
    before, after = spachc.parse(MIXED), spachc.parse(MIXED.replace(*edit))
    d = diff_specs(before, after)
    if edit[1] == "model other":
        assert d.same and (d.name_before, d.name_after) == ("tiny", "other")
        return
    assert not d.same
    shown = [c.field for c in d.model_changes] + [c.field for p in d.parts for c in p.changes]
    shown += [b for p in d.parts for b in p.block_changes]
    assert shown, "the hashes differ but the diff shows nothing"
