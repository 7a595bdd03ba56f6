"""The fused CPU linear kernels of spachc/nn/fused.py, with a backward: for fp32 training on CPU.

A training step's linear layers run `aten::linear`, which on CPU first copies the bias into
every row of the output and then runs the GEMM over it (one extra write and read of the
output), and the block's residual add after the channel MLP is one more pass over the tokens.
oneDNN's linear adds the bias (and, for the MLP's second layer, the residual) in the GEMM's
epilogue instead. Its kernels have no autograd formula, so `FusedLinear` supplies the
backward, the same GEMMs aten's linear backward runs (grad_input = g·W, grad_weight = gᵀ·x,
grad_bias = Σg; the residual's gradient is g itself). Same fp32 arithmetic, fewer passes.

GELU stays a separate autograd op in training: its backward needs the pre-activation, which a
GELU epilogue would not keep. spachc/nn/fused.py decides where this runs (`fusable_with_grad`).
What it buys is small: per step 20-156 MB less written (the bias copies, batch 2), and on a
2-core AMD EPYC a training step 1.03-1.04x faster on hybrid_s; on the xxs zoo models the change
is within run-to-run noise (benchmarks/grad_kernels.py; benchmarks/RESULTS.md section 20).
"""

from __future__ import annotations

import torch


class FusedLinear(torch.autograd.Function):
    """`residual + x·Wᵀ + b` (residual optional) through oneDNN, with aten's linear backward."""

    @staticmethod
    def forward(ctx, x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None,
                residual: torch.Tensor | None) -> torch.Tensor:
        rows = x.reshape(-1, x.shape[-1])
        if residual is None:
            out = torch.ops.mkldnn._linear_pointwise(rows, weight, bias, "none", [], "")
        else:
            out = torch.ops.mkldnn._linear_pointwise.binary(
                rows, residual.reshape(-1, weight.shape[0]), weight, bias, "add")
        ctx.save_for_backward(x, weight)
        ctx.has_residual = residual is not None
        return out.view(*x.shape[:-1], weight.shape[0])

    @staticmethod
    def backward(ctx, grad: torch.Tensor):
        x, weight = ctx.saved_tensors
        rows = grad.reshape(-1, grad.shape[-1])
        need_x, need_weight, need_bias, need_residual = ctx.needs_input_grad
        grad_x = torch.mm(rows, weight).view(x.shape) if need_x else None
        grad_weight = torch.mm(rows.t(), x.reshape(-1, x.shape[-1])) if need_weight else None
        grad_bias = rows.sum(0) if need_bias else None
        return grad_x, grad_weight, grad_bias, (grad if need_residual and ctx.has_residual else None)
