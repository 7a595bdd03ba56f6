"""`sepconv` (MetaFormer): an inverted separable convolution with StarReLU."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from ..layers import grid_to_tokens, tokens_to_grid


class StarReLU(nn.Module):
    """s·relu(x)² + b with learnable scalars s (initially 1) and b (initially 0)."""

    def __init__(self):
        super().__init__()
        self.scale = nn.Parameter(torch.ones(1))
        self.bias = nn.Parameter(torch.zeros(1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.scale * F.relu(x).square() + self.bias


class SepConv(nn.Module):
    """MetaFormer's inverted separable conv: Linear(C, 2C), StarReLU, 7×7 depthwise conv
    (padding 3), Linear(2C, C); no biases anywhere, as in timm's SepConv (bias=False)."""

    def __init__(self, dim: int):
        super().__init__()
        self.pwconv1 = nn.Linear(dim, 2 * dim, bias=False)
        self.act = StarReLU()
        self.dwconv = nn.Conv2d(2 * dim, 2 * dim, 7, padding=3, groups=2 * dim, bias=False)
        self.pwconv2 = nn.Linear(2 * dim, dim, bias=False)

    def forward(self, x: torch.Tensor, grid: tuple[int, int]) -> torch.Tensor:
        h = self.act(self.pwconv1(x))
        h = grid_to_tokens(self.dwconv(tokens_to_grid(h, grid)))
        return self.pwconv2(h)
