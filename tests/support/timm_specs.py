"""The specs of timm's model contract tests (tests/unit/test_timm_contract.py and its torch.export
round trip, tests/e2e/test_timm_contract_export.py): together they use every kind, both stems, a
shared mixer, single- and multi-stage models. Import `spec` into a test module for the fixture."""

from __future__ import annotations

import pytest
import torch

import spachc

SPECS = {
    # several stages, patch stem, every kind that is not grid-tied
    "multi": """\
model multi
input 32
classes 7
stem conv1 patch 4
defaults heads 2
drop_path 0.1
stage conv x1, pool x1 dim 12
-> down -> stage shift x1, sepconv x1 dim 24
-> down -> stage trans x2 dim 32
""",
    # the grid-tied kinds, the conv4 stem, a shared mixer
    "tied": """\
model tied
input 32
classes 3
stem conv4 patch 4 hidden 8
drop_path 0.1
stage conv x1, smlp x2 dim 8 shared
-> down -> stage mlp x1 dim 16
""",
    # one stage (isotropic, like ViT): its feature units are blocks
    "iso": """\
model iso
input 32
classes 4
stem conv1 patch 8
defaults heads 2
drop_path 0.1
stage conv x1, trans x1, mlp x1 dim 16
""",
}


@pytest.fixture(params=sorted(SPECS), scope="module")
def spec(request):
    return spachc.parse(SPECS[request.param], source=request.param)


def made(spec, seed=0, **kwargs):
    torch.manual_seed(seed)
    return spachc.build(spec, **kwargs)


def images(spec, batch=1, seed=1):
    g = torch.Generator().manual_seed(seed)
    return torch.randn(batch, spec.channels, *spec.input, generator=g)
