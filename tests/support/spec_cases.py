"""Small specs that together use every block kind, both stems, shared mixers, non-square
inputs and the options switched off (no tests here): the cases of the equivalence and layout tests."""

from __future__ import annotations

import spachc

HEADER = "input {input}\nclasses 7\n{stem}\ndefaults heads 2 channel_ratio 2 token_ratio 0.5\n"
CASES = {
    "hybrid_all_kinds": ("32", "stem patch 4",
                         "stage conv x1 dim 16 -> down -> stage conv x1, trans x1 -> down -> stage mlp x2"),
    "conv4_stem": ("32", "stem conv4 patch 4 hidden 8", "stage conv x1, trans x1 dim 16 -> down -> stage trans x1"),
    "shared_trans": ("32", "stem patch 4", "stage trans x3 dim 16 shared"),
    "shared_mlp_nonsquare": ("32x16", "stem patch 4", "stage conv x1, mlp x2 dim 16 shared"),
    "options_off": ("32", "stem patch 4",
                    "stage trans x2 dim 16 cpe off layerscale off qkv_bias off -> down -> stage mlp x1 cpe off"),
    "single_stage_conv": ("32", "stem patch 8", "stage conv x2 dim 24"),
    "four_heads_mlp_tokens": ("32x24", "stem patch 4", "stage trans x1 dim 32 heads 4 -> down -> stage mlp x1"),
}


def make_spec(case: str, drop_path: float = 0.0):
    size, stem, pipeline = CASES[case]
    text = HEADER.format(input=size, stem=stem) + f"drop_path {drop_path}\n" + pipeline + "\n"
    return spachc.parse(text)
