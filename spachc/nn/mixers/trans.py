"""`trans`: multi-head self-attention over all tokens (the paper's Transformer mixer)."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from ..fused import fused_kernels, linear


class Attention(nn.Module):
    """Multi-head self-attention over all tokens, fused through SDPA."""

    def __init__(self, dim: int, heads: int, qkv_bias: bool):
        super().__init__()
        self.heads = heads
        self.qkv = nn.Linear(dim, 3 * dim, bias=qkv_bias)
        self.proj = nn.Linear(dim, dim)

    def forward(self, x: torch.Tensor, grid: tuple[int, int]) -> torch.Tensor:
        b, n, c = x.shape
        fused = fused_kernels(x)
        # Output features are laid out (three, heads, head_dim), as in the reference.
        qkv = linear(x, self.qkv, fused).view(b, n, 3, self.heads, c // self.heads)
        # Unbound along its own axis, not after a permute: SDPA's CPU backward gives each of
        # dq, dk, dv token-major (B×N×heads×d), so unbind's backward stacks them straight into
        # the qkv layout (one copy) instead of stacking heads-major and then copying again.
        q, k, v = (t.transpose(1, 2) for t in qkv.unbind(2))
        out = F.scaled_dot_product_attention(q, k, v)
        return linear(out.transpose(1, 2).reshape(b, n, c), self.proj, fused)
