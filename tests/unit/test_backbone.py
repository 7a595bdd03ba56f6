"""Multi-scale features (timm's features_only / forward_intermediates / feature_info) and any
input size for kinds that are not grid-tied (the small FPN trained on a dense task is
tests/e2e/test_backbone_training.py)."""

from __future__ import annotations
import pytest
import torch

import spachc
from spachc.diagnostics import SpecError
from spachc.nn.layers import tokens_to_grid

# Four stages, every non-grid-tied kind, small widths so 224² and 256×320 are cheap.
FOUR_STAGES = """\
model four
input 224
classes 5
stem conv1 patch 4
defaults heads 2
stage conv x1 dim 8
-> down -> stage conv x1 dim 16
-> down -> stage conv x1, trans x1 dim 32
-> down -> stage trans x1 dim 64
"""

ONE_STAGE = """\
model iso
input 64
classes 5
stem conv1 patch 8
defaults heads 2
stage conv x1, trans x2 dim 16
"""

MLP_STAGE = """\
model tied
input 32
classes 5
stem conv1 patch 4
stage conv x1 dim 8
-> down -> stage mlp x1 dim 16
"""


@pytest.fixture(scope="module")
def four():
    torch.manual_seed(0)
    spec = spachc.parse(FOUR_STAGES)
    model = spachc.build(spec)
    with torch.no_grad():  # a non-zero head, so the logits say something
        model.head.weight.normal_()
    return spec, model.eval()


def stage_outputs(model, images):
    """The classifier path's own stage outputs, captured by hooks during model(images)."""
    seen = []
    hooks = [stage.register_forward_hook(lambda m, i, o: seen.append(tokens_to_grid(*o))) for stage in model.stages]
    try:
        logits = model(images)
    finally:
        for h in hooks:
            h.remove()
    return logits, seen


@pytest.mark.parametrize("grad", [False, True])
def test_features_equal_the_classifier_path_exactly(four, grad):
    spec, model = four
    backbone = spachc.build(spec, features_only=True)
    backbone.load_classifier_state(model.state_dict())
    backbone.eval()
    images = torch.randn(2, 3, 224, 224, generator=torch.Generator().manual_seed(1))
    with torch.set_grad_enabled(grad):
        logits, seen = stage_outputs(model, images)
        maps = backbone(images)
        final, inter = model.forward_intermediates(images)
        only = model.forward_intermediates(images, indices=2, intermediates_only=True)
        features = model.forward_features(images)
        head = model.head(final.mean(dim=1))
    assert len(maps) == len(seen) == len(inter) == 4
    for a, b, c in zip(maps, seen, inter):
        assert torch.equal(a, b) and torch.equal(b, c)
    assert torch.equal(final, features)
    assert torch.equal(head, logits)
    assert [m.shape for m in only] == [seen[2].shape, seen[3].shape]
    assert all(torch.equal(a, b) for a, b in zip(only, seen[2:]))


@pytest.mark.parametrize("size,batch", [((224, 224), 1), ((256, 320), 1), ((224, 224), 3)])
def test_channels_reductions_and_shapes(four, size, batch):
    spec, _ = four
    backbone = spachc.build(spec, features_only=True, out_indices=(0, 1, 2, 3)).eval()
    info = backbone.feature_info
    assert info.channels() == [8, 16, 32, 64]
    assert info.reduction() == [4, 8, 16, 32]
    assert info.module_name() == ["stages.0", "stages.1", "stages.2", "stages.3"]
    assert info[1]["num_chs"] == 16 and len(info) == 4
    with torch.no_grad():
        maps = backbone(torch.randn(batch, 3, *size))
    assert [tuple(m.shape) for m in maps] == [(batch, c, size[0] // r, size[1] // r)
                                             for c, r in zip(info.channels(), info.reduction())]
    picked = spachc.build(spec, features_only=True, out_indices=(1, -1))
    assert picked.feature_info.channels() == [16, 64] and picked.out_indices == (1, 3)


def test_classifier_runs_at_a_non_square_size_and_matches_a_spec_built_for_it(four):
    spec, model = four
    other = spachc.build(spachc.parse(FOUR_STAGES.replace("input 224", "input 256x320")))
    other.load_state_dict(model.state_dict())
    images = torch.randn(2, 3, 256, 320)
    with torch.no_grad():
        torch.testing.assert_close(model(images), other.eval()(images), rtol=1e-5, atol=1e-6)


def test_gradients_flow_through_every_map(four):
    spec, model = four
    backbone = spachc.build(spec, features_only=True).train()
    maps = backbone(torch.randn(2, 3, 64, 96))
    for i, m in enumerate(maps):
        grads = torch.autograd.grad(m.square().mean(), [backbone.stem.proj.weight, *backbone.stages[i].parameters()],
                                    retain_graph=True, allow_unused=True)
        assert all(g is not None and g.abs().sum() > 0 for g in grads), f"map {i}"


def test_single_stage_model_gives_its_blocks_at_stride_patch():
    spec = spachc.parse(ONE_STAGE)
    model = spachc.build(spec).eval()
    assert model.feature_info.reduction() == [8, 8, 8]
    assert model.feature_info.module_name() == [f"stages.0.blocks.{j}" for j in range(3)]
    images = torch.randn(2, 3, 64, 80)
    blocks = []
    hooks = [b.register_forward_hook(lambda m, i, o: blocks.append(o)) for b in model.stages[0].blocks]
    with torch.no_grad():
        model(images)
        final, maps = model.forward_intermediates(images, output_fmt="NLC")
        normed = model.forward_intermediates(images, indices=1, norm=True, intermediates_only=True)
        expected = tokens_to_grid(model.head_norm(blocks[2]), (8, 10))
    for h in hooks:
        h.remove()
    assert all(torch.equal(a, b) for a, b in zip(maps, blocks))
    assert len(normed) == 1 and torch.equal(normed[0], expected)
    assert tuple(spachc.build(spec, features_only=True, out_indices=(-1,)).eval()(images)[0].shape) == (2, 16, 8, 10)


def test_grid_tied_and_indivisible_sizes_are_refused_with_codes():
    tied = spachc.build(spachc.parse(MLP_STAGE))
    with pytest.raises(SpecError) as exc:
        tied(torch.randn(1, 3, 64, 64))
    assert exc.value.diagnostics[0].code == "E1201"
    assert "stage 2 has mlp blocks" in str(exc.value) and "16 tokens (4x4)" in str(exc.value)
    assert tied(torch.randn(1, 3, 32, 32)).shape == (1, 5)
    free = spachc.build(spachc.parse(FOUR_STAGES))
    with pytest.raises(SpecError) as exc:
        free(torch.randn(1, 3, 224, 200))
    assert exc.value.diagnostics[0].code == "E1202" and "multiples of its total stride 32" in str(exc.value)
    with pytest.raises(SpecError) as exc:
        free.forward_intermediates(torch.randn(1, 1, 224, 224))
    assert exc.value.diagnostics[0].code == "E1203"
    with pytest.raises(ValueError, match="out of range"):
        spachc.build(spachc.parse(FOUR_STAGES), features_only=True, out_indices=(4,))
