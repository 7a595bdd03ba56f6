"""spachc's compiled model computes the same function as the plain reference, on fresh
random weights and inputs, for every block kind, both stems, shared mixers and options."""

from __future__ import annotations

import pytest
import torch
from support.reference_spach import reference_from_spachc
from support.spec_cases import CASES, make_spec

import spachc


def randomise(model: torch.nn.Module, seed: int) -> None:
    """Every weight random and O(1) (layer scale included), so every weight matters."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, t in model.state_dict().items():
            if not t.is_floating_point():
                continue
            if name.endswith("running_var"):
                t.copy_(torch.rand(t.shape, generator=g) + 0.5)
            else:
                t.copy_(torch.randn(t.shape, generator=g) * 0.3)


def pair(case: str, seed: int, drop_path: float = 0.0):
    spec = make_spec(case, drop_path)
    model = spachc.build(spec)
    randomise(model, seed)
    return spec, model, reference_from_spachc(spec, model)


def images(spec, seed: int, batch: int = 3) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed + 1000)
    return torch.randn(batch, spec.channels, *spec.input, generator=g)


def rel_err(a: torch.Tensor, b: torch.Tensor) -> float:
    return ((a - b).abs().max() / b.abs().max().clamp_min(1e-12)).item()


@pytest.mark.parametrize("case", sorted(CASES))
def test_eval_outputs_match_reference(case):
    for seed in (0, 1):
        spec, model, ref = pair(case, seed, drop_path=0.2)  # drop path must vanish in eval
        x = images(spec, seed)
        with torch.no_grad():
            ours, theirs = model.eval()(x), ref.eval()(x)
            assert rel_err(ours, theirs) <= 1e-5
            assert rel_err(model.forward_features(x), ref.forward_features(x)) <= 1e-5


@pytest.mark.parametrize("case", sorted(CASES))
def test_train_mode_outputs_and_gradients_match_reference(case):
    spec, model, ref = pair(case, seed=7)
    x = images(spec, 7)
    ours, theirs = model.train()(x), ref.train()(x)
    assert rel_err(ours, theirs) <= 1e-5
    ours.square().mean().backward()
    theirs.square().mean().backward()
    ref_params = dict(ref.named_parameters())
    from spachc.nn.upstream import upstream_key

    for name, p in model.named_parameters():
        q = ref_params[upstream_key(spec, name)]
        assert rel_err(p.grad.reshape(q.grad.shape), q.grad) <= 1e-5, name


def test_train_mode_without_drop_path_equals_eval_mode():
    spec, model, _ = pair("hybrid_all_kinds", seed=3)
    x = images(spec, 3)
    with torch.no_grad():
        assert rel_err(model.train()(x), model.eval()(x)) <= 1e-6


def test_drop_path_in_training_changes_the_output():
    """The oracle comparison above runs without drop path; make sure it is really wired in."""
    spec, model, _ = pair("hybrid_all_kinds", seed=4, drop_path=0.5)
    x = images(spec, 4, batch=8)
    torch.manual_seed(0)
    with torch.no_grad():
        assert rel_err(model.train()(x), model.eval()(x)) > 1e-3


@pytest.mark.parametrize("case", ["hybrid_all_kinds", "conv4_stem", "shared_mlp_nonsquare"])
def test_compiles_as_one_graph_without_breaks(case):
    spec = make_spec(case)
    model = spachc.build(spec).eval()
    explained = torch._dynamo.explain(model)(images(spec, 0, batch=2))
    assert (explained.graph_count, explained.graph_break_count) == (1, 0), explained.break_reasons


@pytest.mark.parametrize("case", ["hybrid_all_kinds", "options_off", "shared_mlp_nonsquare"])
def test_fused_inference_path_equals_the_autograd_path(case):
    """Under no_grad on CPU the blocks take fused kernels (spachc/nn/fused.py); with autograd
    on they take the plain ops. Both must be the same function as the reference."""
    from spachc.nn import fused

    spec, model, ref = pair(case, seed=11)
    x = images(spec, 11)
    model.eval()
    with torch.no_grad():
        assert fused.fusable(x) == fused.AVAILABLE
        no_grad = model(x)
        expected = ref.eval()(x)
    with_grad = model(x)
    assert rel_err(no_grad, expected) <= 1e-5 and rel_err(with_grad, expected) <= 1e-5
    assert rel_err(no_grad, with_grad) <= 1e-5
