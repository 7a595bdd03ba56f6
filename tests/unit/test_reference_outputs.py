"""The compiler reproduces the paper's code: recorded logits of two small models, same weights."""

from __future__ import annotations

import pytest
import torch
from safetensors.torch import load_file

import spachc


@pytest.mark.parametrize("name", ["ms_hybrid_small", "ss_mlp_small"])
def test_recorded_output_is_reproduced(fixtures, name):
    spec = spachc.load(fixtures / f"{name}.spach")
    model = spachc.build(spec).eval()
    model.load_state_dict(spachc.from_upstream(spec, load_file(fixtures / f"{name}.upstream.safetensors")),
                          strict=True)
    io = load_file(fixtures / f"{name}.io.safetensors")
    with torch.no_grad():
        out = model(io["input"])
    expected = io["output"]
    assert out.shape == expected.shape
    rel = (out - expected).norm() / expected.norm()
    assert rel <= 1e-5, f"relative error {rel:.3g}"
    # Every weight matters: a perturbed checkpoint must not reproduce the output.
    state = model.state_dict()
    key = next(k for k in state if k.endswith("mlp.fc1.weight"))
    state[key] = state[key] + 0.05
    model.load_state_dict(state)
    with torch.no_grad():
        assert ((model(io["input"]) - expected).norm() / expected.norm()) > 1e-4


def test_forward_features_are_the_normalised_tokens(fixtures):
    spec = spachc.load(fixtures / "ms_hybrid_small.spach")
    model = spachc.build(spec).eval()
    x = torch.randn(2, 3, 32, 32)
    with torch.no_grad():
        tokens = model.forward_features(x)
        logits = model(x)
    h, w = spec.output_grid
    assert tokens.shape == (2, h * w, spec.stages[-1].dim)
    torch.testing.assert_close(model.head(tokens.mean(1)), logits)
    # LayerNorm without affine change: every token has zero mean, unit variance over channels.
    torch.testing.assert_close(tokens.mean(-1), torch.zeros(2, h * w), atol=1e-5, rtol=0)
