"""Tokens without copies: a training step moves no activation between layouts.

The blocks keep tokens B×N×C and give the depthwise convs channels-last views of them
(spachc/nn/layers.py); the stem reads channels-last images so its output is token-major; the
attention's q, k, v are unbound along the qkv axis so SDPA's gradients stack straight back.
A profile of one forward + backward must show no copy (aten::copy_/clone/contiguous) of a
batch-sized tensor other than the one copy of the input images (none when they come
channels-last)."""

from __future__ import annotations

import pytest
import torch
from support.spec_cases import make_spec

import spachc

COPY_OPS = {"aten::copy_"}  # where clone, contiguous and a copying reshape move the bytes
# A GEMM with a bias starts from the bias broadcast into its output (`beta * C`): a write of
# the output's first value, not a change of layout.
GEMM_BIAS = {"aten::addmm", "aten::baddbmm"}
BATCH = 3  # no weight of the specs below has 3 rows, so a leading 3 marks an activation


def batch_sized_copies(case: str) -> tuple[list[tuple[str, list[int]]], list[int]]:
    spec = make_spec(case)
    torch.manual_seed(0)
    model = spachc.build(spec).train()
    images = torch.randn(BATCH, spec.channels, *spec.input)
    upstream = torch.randn(BATCH, spec.classes)  # a dense gradient for the logits
    (model(images) * upstream).sum().backward()  # warm-up: lazily made buffers are not counted
    with torch.profiler.profile(record_shapes=True) as prof:
        (model(images) * upstream).sum().backward()
    return activation_copies(prof), list(images.shape)


def activation_copies(prof) -> list[tuple[str, list[int]]]:
    return [(e.name, list(e.input_shapes[0])) for e in prof.events()
            if e.name in COPY_OPS and e.input_shapes and e.input_shapes[0] and e.input_shapes[0][0] == BATCH
            and not (e.cpu_parent is not None and e.cpu_parent.name in GEMM_BIAS)]


@pytest.mark.parametrize("case", ["hybrid_all_kinds", "conv4_stem", "four_heads_mlp_tokens"])
def test_training_step_copies_no_activation(case):
    copies, image_shape = batch_sized_copies(case)
    # the NCHW images copied into channels-last, and nothing else
    assert copies == [("aten::copy_", image_shape)], copies


def test_channels_last_images_are_not_copied_again():
    spec = make_spec("hybrid_all_kinds")
    model = spachc.build(spec).eval()
    images = torch.randn(BATCH, spec.channels, *spec.input)
    with torch.no_grad():
        plain = model(images)
        images_cl = images.contiguous(memory_format=torch.channels_last)
        with torch.profiler.profile(record_shapes=True) as prof:
            cl = model(images_cl)
    assert torch.allclose(plain, cl, rtol=0, atol=1e-5 * plain.abs().max().item())
    assert activation_copies(prof) == []
