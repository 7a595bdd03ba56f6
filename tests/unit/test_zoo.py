"""The 21 zoo specs: exact parameter and MAC counts, and the reference checkpoint layout."""

from __future__ import annotations

import json

import pytest
import torch
from support.paths import FIXTURES

import spachc
from spachc.lang.resources import zoo_names
from spachc.nn.build import skeleton

# Independent expectations: SPACH.md's table, with the MACs the reference code's counter measured.
TABLE = {
    "conv_xxs": (7_828_840, 1.454), "conv_xs": (14_975_848, 2.849), "conv_s": (38_854_120, 7.498),
    "trans_xxs": (3_931_048, 0.904), "trans_xs": (14_938_984, 3.195), "trans_s": (32_507_368, 6.726),
    "mlp_xxs": (8_307_184, 1.631), "mlp_xs": (15_932_536, 3.203), "mlp_s": (39_820_024, 7.970),
    "conv_ms_xxs": (5_085_224, 0.712), "conv_ms_xs": (17_302_120, 2.755), "conv_ms_s": (43_576_168, 7.141),
    "trans_ms_xxs": (2_372_744, 0.530), "trans_ms_xs": (14_479_080, 3.082), "trans_ms_s": (39_537_544, 7.532),
    "mlp_ms_xxs": (6_562_446, 0.931), "mlp_ms_xs": (20_260_283, 3.409), "mlp_ms_s": (46_542_011, 8.014),
    "hybrid_xs": (27_956_584, 4.444), "hybrid_s": (63_028_584, 11.051), "hybrid_s_plus": (63_138_728, 12.177),
}


@pytest.fixture(scope="module")
def upstream_zoo():
    return json.loads((FIXTURES / "upstream_zoo.json").read_text())


def test_the_zoo_is_exactly_the_table():
    assert sorted(zoo_names()) == sorted(TABLE)


@pytest.mark.parametrize("name", sorted(TABLE))
def test_counts_match_the_table(name, upstream_zoo):
    spec = spachc.load(name)
    s = spachc.summary(spec)
    params, gmacs = TABLE[name]
    assert s.params == params
    assert s.macs == upstream_zoo[name]["macs"]
    assert round(s.macs / 1e9, 3) == gmacs
    assert s.params == sum(row.params for row in s.stages) + s.stem_params + s.head_params
    # The compiled module has exactly the counted parameters (shared tensors once).
    assert sum(p.numel() for p in skeleton(spec).parameters()) == params


@pytest.mark.parametrize("name", sorted(TABLE))
def test_reference_layout_maps_onto_the_module(name, upstream_zoo):
    spec = spachc.load(name)
    layout = upstream_zoo[name]["state_dict"]
    state = {key: torch.empty(shape, device="meta") for key, shape in layout}
    mapped = spachc.from_upstream(spec, {"model": state})
    module = skeleton(spec)
    result = module.load_state_dict(mapped, strict=True, assign=True)
    assert not result.missing_keys and not result.unexpected_keys
    assert len(mapped) == len(layout)


@pytest.mark.parametrize("name", ["trans_ms_xxs", "conv_ms_xxs", "mlp_ms_xxs"])
def test_reference_layout_loads_real_values(name, upstream_zoo):
    spec = spachc.load(name)
    gen = torch.Generator().manual_seed(0)
    state = {key: torch.randn(shape, generator=gen) if shape else torch.tensor(3)
             for key, shape in upstream_zoo[name]["state_dict"]}
    model = spachc.build(spec)
    model.load_state_dict(spachc.from_upstream(spec, state), strict=True)
    probe = next(k for k, _ in upstream_zoo[name]["state_dict"] if k.endswith("channel_func.fc1.weight"))
    ours = dict(model.named_parameters())
    assert any(torch.equal(state[probe], t) for t in ours.values())
