"""from_upstream: mismatches are named precisely; shared mixers arrive as one tensor."""

from __future__ import annotations

import pytest
import torch

import spachc
from spachc.nn.upstream import UpstreamMismatch, upstream_layout

SHARED = """
model shared_small
input 32
classes 5
stem patch 4
stage trans x3 dim 16 heads 2 shared
"""


def _random_upstream(spec) -> dict[str, torch.Tensor]:
    gen = torch.Generator().manual_seed(1)
    return {k: torch.randn(shape, generator=gen) for k, (_, shape) in upstream_layout(spec).items()}


def test_missing_unexpected_and_misshaped_keys_are_all_named(fixtures):
    spec = spachc.load(fixtures / "ss_mlp_small.spach")
    state = _random_upstream(spec)
    del state["blocks.1.norm1.weight"]
    state["blocks.9.gamma_1"] = torch.zeros(1, 1, 16)
    state["head.weight"] = torch.zeros(11, 16)
    with pytest.raises(UpstreamMismatch) as info:
        spachc.from_upstream(spec, state)
    message = str(info.value)
    assert "missing keys (1): blocks.1.norm1.weight" in message
    assert "unexpected keys (1): blocks.9.gamma_1" in message
    assert "head.weight has shape (11, 16), expected (10, 16)" in message
    assert isinstance(info.value, ValueError)


def test_layer_scale_is_reshaped_from_the_reference_layout(fixtures):
    spec = spachc.load(fixtures / "ss_mlp_small.spach")
    state = _random_upstream(spec)
    state["blocks.0.gamma_1"] = torch.arange(16.0).reshape(1, 1, 16)
    mapped = spachc.from_upstream(spec, state)
    assert torch.equal(mapped["stages.0.blocks.0.layer_scale"], torch.arange(16.0))


def test_shared_mixer_is_listed_under_every_block_and_loaded_once():
    spec = spachc.parse(SHARED)
    layout = upstream_layout(spec)
    qkv_keys = [k for k in layout if k.endswith("spatial_func.qkv.weight")]
    assert qkv_keys == [f"blocks.{i}.spatial_func.qkv.weight" for i in range(3)]
    state = _random_upstream(spec)
    for key in [k for k in layout if ".spatial_func." in k]:
        state[key] = state["blocks.0." + key.split(".", 2)[2]]  # the reference saves one tensor thrice
    model = spachc.build(spec)
    model.load_state_dict(spachc.from_upstream(spec, state), strict=True)
    blocks = model.stages[0].blocks
    assert blocks[0].mixer is blocks[1].mixer is blocks[2].mixer
    assert torch.equal(blocks[2].mixer.qkv.weight, state["blocks.0.spatial_func.qkv.weight"])
    counted = spachc.summary(spec).params
    assert sum(p.numel() for p in model.parameters()) == counted


def test_disagreeing_copies_of_a_shared_mixer_are_refused():
    spec = spachc.parse(SHARED)
    state = _random_upstream(spec)  # independent random copies per block
    with pytest.raises(UpstreamMismatch, match="shares its mixer"):
        spachc.from_upstream(spec, state)


def test_conv4_stem_and_ddp_prefixes():
    spec = spachc.parse("input 32 classes 3 stem conv4 patch 4 hidden 8 stage conv x1 dim 8 -> down -> stage trans x1 heads 2")
    layout = upstream_layout(spec)
    assert "stem.proj.1.running_var" in layout and "stem.proj.9.weight" in layout
    assert "layer2.0.net.1.0.weight" in layout and "layer2.1.spatial_func.qkv.weight" in layout
    state = {"module." + k: v for k, v in _random_upstream(spec).items()}
    state["module.stem.proj.1.num_batches_tracked"] = torch.tensor(7)
    model = spachc.build(spec)
    model.load_state_dict(spachc.from_upstream(spec, {"model": state}), strict=True)
    assert int(model.stem.body[1].num_batches_tracked) == 7
