"""fp32 CPU training runs its linear layers on oneDNN with the bias and the MLP's residual add in
the GEMM epilogue (spachc/nn/fused_grad.py supplies their backward). It must compute the same
forward and the same gradients as the plain aten ops, wherever it is used, and stay out of the
way where it is not (autocast, float64, tracing)."""

from __future__ import annotations

import pytest
import torch

import spachc
from spachc.nn import fused
from spachc.nn.fused_grad import FusedLinear

SPEC = """model fused_training
input 32
classes 5
stem patch 4
defaults heads 2 channel_ratio 2 token_ratio 0.5
drop_path {drop_path}
stage conv x1, trans x1 dim 16 -> down -> stage mlp x1, trans x1
"""


def build(drop_path: float = 0.0, seed: int = 0) -> torch.nn.Module:
    torch.manual_seed(seed)
    model = spachc.build(spachc.parse(SPEC.format(drop_path=drop_path)))
    with torch.no_grad():  # every weight non-trivial (the head starts at zero)
        for p in model.parameters():
            p.add_(0.1 * torch.randn_like(p))
    return model.train()


def images(batch: int = 3) -> torch.Tensor:
    return torch.randn(batch, 3, 32, 32, generator=torch.Generator().manual_seed(1))


def grads(model: torch.nn.Module, x: torch.Tensor, plain: bool, seed: int = 0):
    fused.GRAD_KERNELS = not plain
    try:
        torch.manual_seed(seed)  # the same drop-path masks in both runs
        out = model(x)
        out.square().mean().backward()
    finally:
        fused.GRAD_KERNELS = True
    result = {name: p.grad.clone() for name, p in model.named_parameters() if p.grad is not None}
    model.zero_grad(set_to_none=True)
    return out.detach(), result


def rel_err(a: torch.Tensor, b: torch.Tensor) -> float:
    return ((a - b).abs().max() / b.abs().max().clamp_min(1e-12)).item()


def graph_nodes(out: torch.Tensor) -> set[str]:
    seen, names, todo = set(), set(), [out.grad_fn]
    while todo:
        node = todo.pop()
        if node is None or node in seen:
            continue
        seen.add(node)
        names.add(type(node).__name__)
        todo.extend(f for f, _ in node.next_functions)
    return names


needs_onednn = pytest.mark.skipif(not fused.AVAILABLE, reason="no oneDNN linear kernels in this torch build")


@needs_onednn
@pytest.mark.parametrize("drop_path", [0.0, 0.3])
def test_fused_training_step_equals_the_plain_ops(drop_path):
    model, x = build(drop_path), images()
    out_fused, g_fused = grads(model, x, plain=False)
    out_plain, g_plain = grads(model, x, plain=True)
    assert rel_err(out_fused, out_plain) <= 1e-5
    assert g_fused.keys() == g_plain.keys() == {n for n, _ in model.named_parameters()}
    for name in g_plain:
        assert rel_err(g_fused[name], g_plain[name]) <= 1e-5, name


@needs_onednn
def test_the_fused_linears_are_in_the_training_graph_and_only_there():
    model, x = build(), images()
    assert fused.fusable_with_grad(x)
    assert "FusedLinearBackward" in graph_nodes(model(x))
    fused.GRAD_KERNELS = False
    try:
        assert "FusedLinearBackward" not in graph_nodes(model(x))
    finally:
        fused.GRAD_KERNELS = True
    with torch.autocast("cpu", dtype=torch.bfloat16):
        assert not fused.fusable_with_grad(x)
        assert "FusedLinearBackward" not in graph_nodes(model(x))
    double = build().double()
    assert "FusedLinearBackward" not in graph_nodes(double(x.double()))
    with torch.no_grad():
        assert not fused.fusable_with_grad(x) and fused.fusable(x)


def test_a_flop_counter_sees_every_gemm_with_or_without_autograd():
    """Under a dispatch mode (torch's FlopCounterMode) the plain aten ops run, so the counter
    counts the linears that oneDNN would otherwise run unseen. (No trans block here: torch's
    counter does not count the CPU flash-attention kernel.)"""
    from torch.utils.flop_counter import FlopCounterMode

    model = spachc.build(spachc.parse("input 32\nclasses 5\nstem patch 4\nstage conv x1, mlp x1 dim 16"))
    x = images(batch=1)
    counts = []
    for grad in (True, False):
        counter = FlopCounterMode(display=False)
        with counter, torch.set_grad_enabled(grad):
            model.eval()(x)
        counts.append(counter.get_total_flops())
    assert counts[0] == counts[1] == 2 * spachc.summary(model.spec).macs


@needs_onednn
def test_frozen_backbone_and_checkpointing_take_the_fused_path_too():
    """A linear probe (only the head trains) and gradient checkpointing (blocks recomputed in
    the backward) get the same gradients as the plain ops."""
    model, x = build(), images()
    for name, p in model.named_parameters():
        p.requires_grad_(name.startswith("head."))
    _, g_fused = grads(model, x, plain=False)
    _, g_plain = grads(model, x, plain=True)
    assert set(g_fused) == {"head.weight", "head.bias"}
    assert all(rel_err(g_fused[n], g_plain[n]) <= 1e-5 for n in g_plain)

    model = build()
    _, expected = grads(model, x, plain=True)
    model.set_grad_checkpointing(True)
    _, checkpointed = grads(model, x, plain=False)
    assert all(rel_err(checkpointed[n], expected[n]) <= 1e-5 for n in expected)


def test_fused_linear_backward_is_the_linear_backward():
    """FusedLinear on its own against torch's linear (+ residual) under fp32 autograd, with and
    without residual and bias (oneDNN has no float64 kernel for a gradcheck)."""
    if not fused.AVAILABLE:
        pytest.skip("no oneDNN linear kernels in this torch build")
    g = torch.Generator().manual_seed(0)
    for bias, residual in ((True, False), (True, True), (False, False)):
        x = torch.randn(2, 7, 6, generator=g, requires_grad=True)
        w = torch.randn(4, 6, generator=g, requires_grad=True)
        b = torch.randn(4, generator=g, requires_grad=True) if bias else None
        r = torch.randn(2, 7, 4, generator=g, requires_grad=True) if residual else None
        grad_out = torch.randn(2, 7, 4, generator=g)
        inputs = [t for t in (x, w, b, r) if t is not None]
        out = FusedLinear.apply(x, w, b, r)
        got = torch.autograd.grad(out, inputs, grad_out)
        expected_out = torch.nn.functional.linear(x, w, b) + (r if r is not None else 0)
        expected = torch.autograd.grad(expected_out, inputs, grad_out)
        assert rel_err(out.detach(), expected_out.detach()) <= 1e-6
        for a, e in zip(got, expected):
            assert rel_err(a, e) <= 1e-6
