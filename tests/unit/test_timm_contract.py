"""timm's model contract on spachc modules.

The first tests restate, in our own words, what timm's own model tests check of every timm
model (huggingface/pytorch-image-models tests/test_models.py: test_model_forward,
test_model_backward, test_model_default_cfgs, test_model_forward_features,
test_model_forward_intermediates, and a torch.export round trip), run against small specs
that together use every block kind, both stems, a shared mixer, one and several stages.
The rest pin down what spachc adds: the spec follows reset_classifier, gradient
checkpointing really recomputes, recorded preprocessing shows in pretrained_cfg.
"""

from __future__ import annotations

import math

import pytest
import torch
from support.timm_specs import SPECS, images, made, spec  # noqa: F401  (spec: a fixture)
from torch import nn

import spachc
from spachc.lang.kinds import KIND_NAMES
from spachc.nn.contract import ContractError


def test_the_specs_cover_every_kind():
    kinds = {k for text in SPECS.values() for s in spachc.parse(text).stages for k in s.kinds}
    assert kinds == set(KIND_NAMES)


def tokens_of(spec) -> int:
    return math.prod(spec.output_grid)


# --- timm's tests/test_models.py, restated ------------------------------------------------------

def test_model_forward(spec):
    """One forward: batch kept, no NaNs; switching on grad checkpointing changes nothing."""
    model = made(spec).eval()
    x = images(spec)
    out = model(x)
    assert out.shape == (1, spec.classes) and not out.isnan().any()
    model.set_grad_checkpointing()
    assert torch.allclose(model(x), out, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("classes", [42, 0])
def test_model_backward(spec, classes):
    """num_classes at creation, train mode, batch 2: every parameter receives a gradient, the
    output has that many columns (the pooled features' width for 0) and no NaNs."""
    model = made(spec, num_classes=classes).train()
    out = model(images(spec, batch=2))
    out.mean().backward()
    params = dict(model.named_parameters())
    missing = [n for n, p in params.items() if p.grad is None]
    assert not missing
    assert sum(p.grad.numel() for p in params.values()) == sum(p.numel() for p in params.values())
    assert out.shape == (2, classes or model.num_features) and not out.isnan().any()


def test_model_default_cfgs(spec):
    """The attributes and the cfg, forward_features / forward_head(pre_logits), and forward after
    reset_classifier(0) (pooled) and reset_classifier(0, '') (unpooled maps). forward_features
    gives tokens B×N×C, as timm's ViTs do, so its shape is checked as timm's
    test_model_default_cfgs_non_std checks theirs (N = the pool_size grid)."""
    model = made(spec).eval()
    width = spec.stages[-1].dim
    assert model.num_classes == spec.classes
    assert model.num_features == model.head_hidden_size == width
    cfg = model.default_cfg
    assert cfg is model.pretrained_cfg
    assert cfg["input_size"] == [spec.channels, *spec.input]
    assert cfg["pool_size"] == list(spec.output_grid)
    assert cfg["num_classes"] == spec.classes
    state = model.state_dict()
    assert cfg["classifier"] + ".weight" in state
    assert cfg["first_conv"] + ".weight" in state
    assert state[cfg["first_conv"] + ".weight"].shape[1] == spec.channels  # it reads the image
    assert cfg["fixed_input_size"] == any(k in ("mlp", "smlp") for s in spec.stages for k in s.kinds)

    x = images(spec)
    with torch.no_grad():
        features = model.forward_features(x)  # unpooled tokens, B×N×C
        pre = model.forward_head(features, pre_logits=True)
        logits = model(x)
        assert features.shape == (1, tokens_of(spec), model.num_features)
        assert pre.shape == (1, model.head_hidden_size)
        assert torch.equal(model.forward_head(features), logits)

        model.reset_classifier(0)
        assert model.num_classes == 0 and isinstance(model.get_classifier(), nn.Identity)
        pooled = model(x)
        assert pooled.shape == pre.shape and torch.allclose(pooled, pre, atol=1e-6)

        model.reset_classifier(0, "")
        maps = model(x)
        assert maps.shape == (1, model.num_features, *spec.output_grid)

        fresh = made(spec, num_classes=0, global_pool="").eval()
        assert fresh(x).shape == (1, model.num_features, *spec.output_grid)


def test_model_forward_features(spec):
    """features_only: one map per unit with the channels and stride feature_info states."""
    model = made(spec, features_only=True).eval()
    channels, reduction = model.feature_info.channels(), model.feature_info.reduction()
    assert model.output_fmt == "NCHW"
    x = images(spec)
    with torch.no_grad():
        maps = model(x)
    assert len(maps) == len(channels) >= 2
    for c, r, m in zip(channels, reduction, maps):
        assert m.shape == (1, c, spec.input[0] // r, spec.input[1] // r)
        assert not m.isnan().any()


def test_model_forward_intermediates(spec):
    """forward_intermediates: maps as feature_info says, its final tokens equal to
    forward_features, and the same again under grad checkpointing."""
    model = made(spec).eval()
    x = images(spec)
    final, maps = model.forward_intermediates(x, output_fmt="NCHW")
    assert len(maps) == len(model.feature_info)
    for info, m in zip(model.feature_info, maps):
        assert m.shape == (1, info["num_chs"], spec.input[0] // info["reduction"], spec.input[1] // info["reduction"])
        assert not m.isnan().any()
    assert torch.allclose(final, model.forward_features(x))
    model.set_grad_checkpointing()
    again, _ = model.forward_intermediates(x, output_fmt="NCHW")  # grad enabled: checkpointed blocks run
    assert torch.allclose(again, final, rtol=1e-4, atol=1e-5)


# --- the classifier: reset_classifier, build(num_classes=...) and the spec ----------------------

def test_reset_classifier_rebuilds_the_spec_as_set_classes_would(spec, tmp_path):
    from spachc.model_io.create import create_model as load_model
    from spachc.model_io.tensors import save_weights

    model = made(spec)
    model.reset_classifier(11)
    expected = spachc.parse(SPECS[spec.name], overrides=["classes=11"])
    assert model.spec.classes == 11 and model.spec.hash == expected.hash
    assert model.num_classes == 11 and model.pretrained_cfg["num_classes"] == 11
    head = model.get_classifier()
    assert isinstance(head, nn.Linear) and head.weight.shape == (11, model.num_features)
    assert not head.weight.any() and not head.bias.any()  # a fresh head, as build makes one
    save_weights(model, model.spec, tmp_path / "m.safetensors")
    loaded = load_model(tmp_path / "m.safetensors")
    assert loaded.spec.hash == expected.hash
    with torch.no_grad():
        assert torch.equal(loaded.eval()(images(spec)), model.eval()(images(spec)))


def test_build_with_num_classes_equals_build_then_reset(spec):
    direct = made(spec, num_classes=5)
    later = made(spec)
    later.reset_classifier(5)
    assert direct.spec == later.spec and direct.spec.classes == 5
    a, b = direct.state_dict(), later.state_dict()
    assert {k: v.shape for k, v in a.items()} == {k: v.shape for k, v in b.items()}
    assert not direct.head.weight.any() and not later.head.weight.any()
    # (the other tensors differ: building draws from the RNG for a head of another size first)


def test_reset_keeps_the_head_on_the_models_dtype():
    spec = spachc.parse(SPECS["multi"])
    model = made(spec).to(torch.float64)
    model.reset_classifier(3)
    assert model.head.weight.dtype == torch.float64
    assert model(images(spec).double()).dtype == torch.float64


def test_unpooled_logits_average_to_the_pooled_ones():
    """global_pool '' with a head: logits at every position (B×classes×H×W); the head is linear,
    so their average over positions is the 'avg' model's logits."""
    spec = spachc.parse(SPECS["multi"])
    model = made(spec, global_pool="").eval()
    x = images(spec, batch=2)
    with torch.no_grad():
        model.head.weight.normal_()
        model.head.bias.normal_()
        dense = model(x)
        model.global_pool = "avg"
        pooled = model(x)
    assert dense.shape == (2, spec.classes, *spec.output_grid)
    assert torch.allclose(dense.mean(dim=(2, 3)), pooled, atol=1e-5)


@pytest.mark.parametrize("bad", [-1, 2.5, "3", True])
def test_bad_num_classes_is_one_coded_error(bad):
    model = made(spachc.parse(SPECS["iso"]))
    with pytest.raises(ContractError) as exc:
        model.reset_classifier(bad)
    assert exc.value.code == "E1230" and exc.value.hint
    with pytest.raises(ContractError):
        spachc.build(spachc.parse(SPECS["iso"]), num_classes=bad)


def test_unknown_global_pool_is_one_coded_error():
    model = made(spachc.parse(SPECS["iso"]))
    with pytest.raises(ContractError) as exc:
        model.reset_classifier(0, "max")
    assert exc.value.code == "E1231" and "'avg'" in exc.value.hint
    assert model.num_classes == 4  # refused before anything changed


# --- gradient checkpointing ---------------------------------------------------------------------

def _grads(model, x):
    torch.manual_seed(123)  # drop path draws its masks from here
    model.zero_grad()
    loss = model(x).logsumexp(dim=1).sum()
    loss.backward()
    return {n: p.grad.clone() for n, p in model.named_parameters()}


def test_checkpointing_gives_the_same_gradients(spec):
    """Train mode with drop path on: the recomputed forward replays the same masks, so every
    gradient equals the stored-activation one to fp32 rounding."""
    model = made(spec).train()
    with torch.no_grad():
        model.head.weight.normal_()  # a zero head sends no gradient into the blocks
    x = images(spec, batch=2)
    plain = _grads(model, x)
    model.set_grad_checkpointing(True)
    checkpointed = _grads(model, x)
    assert plain.keys() == checkpointed.keys()
    for name in plain:
        assert torch.allclose(plain[name], checkpointed[name], rtol=1e-5, atol=1e-7), name
    assert any(plain[n].abs().sum() > 0 for n in plain if n.startswith("stages.0"))


def _block_calls(model, x, grad=True) -> int:
    calls = []
    hooks = [m.register_forward_pre_hook(lambda *_: calls.append(1))
             for stage in model.stages for m in stage.blocks]
    try:
        with torch.set_grad_enabled(grad):
            out = model(x)
            if grad:
                out.sum().backward()
    finally:
        for h in hooks:
            h.remove()
    return len(calls)


def test_checkpointing_recomputes_every_block_in_backward():
    spec = spachc.parse(SPECS["multi"])
    model = made(spec).train()
    x = images(spec, batch=2)
    blocks = len(spec.blocks)
    assert _block_calls(model, x) == blocks
    model.set_grad_checkpointing()
    assert model.grad_checkpointing
    assert _block_calls(model, x) == 2 * blocks  # once forward, once again in backward
    assert _block_calls(model, x, grad=False) == blocks  # nothing to recompute without autograd
    model.set_grad_checkpointing(False)
    assert _block_calls(model, x) == blocks


def test_features_model_checkpoints_too():
    spec = spachc.parse(SPECS["iso"])
    backbone = made(spec, features_only=True).train()
    x = images(spec, batch=2)
    backbone.set_grad_checkpointing()
    blocks = len(spec.blocks)
    assert _block_calls_features(backbone, x) == 2 * blocks


def _block_calls_features(model, x) -> int:
    calls = []
    hooks = [m.register_forward_pre_hook(lambda *_: calls.append(1)) for m in model.stages[0].blocks]
    try:
        sum(m.sum() for m in model(x)).backward()
    finally:
        for h in hooks:
            h.remove()
    return len(calls)


# --- the features model, and recorded preprocessing ---------------------------------------------

def test_features_feature_info_out_indices_and_get():
    spec = spachc.parse(SPECS["multi"])
    backbone = made(spec, features_only=True, out_indices=(1, -1))
    info = backbone.feature_info
    assert info.out_indices == (1, 2) == backbone.out_indices
    assert info.get("num_chs") == [24, 32] == info.channels()
    assert info.get("reduction", 0) == 8 and info.get("module", [1]) == ["stages.2"]
    assert backbone.pretrained_cfg["input_size"] == [3, 32, 32]
    assert backbone.pretrained_cfg["first_conv"] == "stem.proj"
    assert made(spec).feature_info.out_indices == (0, 1, 2)


def test_recorded_preprocessing_shows_in_pretrained_cfg(tmp_path):
    from spachc.model_io.create import from_pretrained, write_folder as save_folder
    from spachc.model_io.metadata import ModelInfo, Preprocessing

    spec = spachc.parse(SPECS["multi"])
    model = made(spec)
    recorded = Preprocessing((32, 32), 3, (0.1, 0.2, 0.3), (0.4, 0.5, 0.6), crop_pct=1.0, interpolation="bilinear")
    labels = tuple("abcdefg")
    save_folder(model, spec, tmp_path / "m", ModelInfo(recorded, labels), weights="test")
    for loaded in (from_pretrained(tmp_path / "m"), from_pretrained(tmp_path / "m", features_only=True)):
        cfg = loaded.pretrained_cfg
        assert cfg["mean"] == [0.1, 0.2, 0.3] and cfg["std"] == [0.4, 0.5, 0.6]
        assert cfg["crop_pct"] == 1.0 and cfg["interpolation"] == "bilinear"
        assert cfg["label_names"] == list(labels)
        assert cfg["classifier"] == "head" and cfg["first_conv"] == "stem.proj"  # still the architecture's
    fresh = made(spec)
    assert fresh.pretrained_cfg["mean"] == [0.485, 0.456, 0.406]  # spachc's default for 3 channels
    loaded = from_pretrained(tmp_path / "m")
    loaded.reset_classifier(2)
    assert "label_names" not in loaded.pretrained_cfg  # they named the old head's classes
    assert loaded.model_info.labels is None and loaded.model_info.preprocessing == recorded
    assert loaded.pretrained_cfg["mean"] == [0.1, 0.2, 0.3] and loaded.pretrained_cfg["num_classes"] == 2
