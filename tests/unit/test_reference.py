"""The oracle itself: it reproduces the paper code's recorded outputs and key layouts."""

from __future__ import annotations

import json

import pytest
import torch
from safetensors.torch import load_file
from support.paths import FIXTURES
from support.reference_spach import ReferenceSpach

import spachc

ZOO = json.loads((FIXTURES / "upstream_zoo.json").read_text())


@pytest.mark.parametrize("name", ["ms_hybrid_small", "ss_mlp_small"])
def test_reference_reproduces_recorded_outputs(name):
    spec = spachc.load(str(FIXTURES / f"{name}.spach"))
    ref = ReferenceSpach(spec).eval()
    ref.load_state_dict(load_file(FIXTURES / f"{name}.upstream.safetensors"), strict=True)
    io = load_file(FIXTURES / f"{name}.io.safetensors")
    with torch.no_grad():
        out = ref(io["input"])
    rel = (out - io["output"]).abs().max() / io["output"].abs().max()
    assert rel <= 1e-5


@pytest.mark.parametrize("name", sorted(ZOO))
def test_reference_has_the_upstream_key_layout(name):
    with torch.device("meta"):
        ref = ReferenceSpach(spachc.load(name))
    ours = sorted((k, list(v.shape)) for k, v in ref.state_dict().items())
    assert ours == sorted((k, shape) for k, shape in ZOO[name]["state_dict"])


@pytest.mark.parametrize("name", sorted(ZOO))
def test_reference_parameter_count_matches_the_paper_code(name):
    with torch.device("meta"):
        ref = ReferenceSpach(spachc.load(name))
    assert sum(p.numel() for p in ref.parameters()) == ZOO[name]["params"]
