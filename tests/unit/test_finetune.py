"""Fine-tuning's parameter groups in process: timm's group matcher orders layers by depth, and
frozen parameters get no gradient and no optimizer group (`spachc train --init` itself is
tests/e2e/test_finetune_cli.py)."""

from __future__ import annotations
import pytest
import torch
from support.training import write_spec

import spachc

# No `classes`: the data decides (10 for digits and animals, 3 for the PNG folder).
TINY = """\
model tiny
input 16 channels 1
stem conv1 patch 4
defaults heads 2
stage conv x1 dim 8
-> down -> stage conv x1, trans x1
"""


@pytest.fixture(scope="module")
def work(tmp_path_factory):
    return tmp_path_factory.mktemp("finetune")


@pytest.fixture(scope="module")
def spec(work):
    return write_spec(work, TINY)


def test_group_matcher_is_timms_format_and_orders_layers_by_depth():
    from spachc.nn.groups import layer_ids

    model = spachc.build(spachc.parse(TINY, overrides=["classes=3"]))
    matcher = model.group_matcher()
    assert matcher["stem"] == r"^stem" and isinstance(matcher["blocks"], list)
    assert all(isinstance(regex, str) and (suffix is None or isinstance(suffix, tuple))
               for regex, suffix in matcher["blocks"])
    ids = layer_ids([n for n, _ in model.named_parameters()], matcher)
    assert ids["stem.proj.weight"] == ids["stem_norm.weight"] == 0
    assert ids["stages.0.blocks.0.mlp.fc1.weight"] == 1
    assert ids["stages.1.downsample.conv.weight"] == ids["stages.1.blocks.0.mlp_norm.weight"] == 2
    assert ids["stages.1.blocks.1.mixer.qkv.weight"] == ids["head_norm.weight"] == 3
    assert ids["head.weight"] == ids["head.bias"] == 4
    coarse = layer_ids([n for n, _ in model.named_parameters()], model.group_matcher(coarse=True))
    assert coarse["stages.1.downsample.conv.weight"] == coarse["stages.1.blocks.1.mixer.qkv.weight"] == 2
    assert coarse["head_norm.weight"] == coarse["head.weight"] == 3


def test_frozen_parameters_get_no_gradient_and_no_optimizer_group():
    from spachc.train.tuning import freeze, param_groups

    spec = spachc.parse(TINY, overrides=["classes=3"])
    model = spachc.build(spec)
    frozen = freeze(model, "stem,stage1", spec)
    assert frozen == {n for n, _ in model.named_parameters() if n.startswith(("stem", "stages.0."))}
    torch.nn.init.normal_(model.head.weight)  # a zero head passes no gradient back
    model(torch.randn(2, 1, 16, 16)).sum().backward()
    for name, param in model.named_parameters():
        assert (param.grad is None) == (name in frozen), name
    grouped = {id(p) for g in param_groups(model, 0.05, 0.7) for p in g["params"]}
    assert grouped == {id(p) for n, p in model.named_parameters() if n not in frozen}
