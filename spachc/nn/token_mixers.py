"""The four spatial mixers after the paper: pool, shift, smlp and sepconv.

Each is the f of a SPACH block `y = x + γ·f(LN1(x)) + CPE(x)`, with the signature every
mixer has: `forward(tokens B×N×C, grid (h, w)) -> B×N×C`. Their equations, and where each
comes from, are in docs/LANGUAGE.md; their parameter and MAC counts in spachc/lang/kinds.py.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from .layers import grid_to_tokens, tokens_to_grid

SHIFT_DIVISIONS = 12  # ShiftViT's n_div: four groups of C // 12 channels move


class Pool(nn.Module):
    """PoolFormer: AvgPool2d(3, stride 1, padding 1, count_include_pad=False)(x) - x."""

    def forward(self, x: torch.Tensor, grid: tuple[int, int]) -> torch.Tensor:
        image = tokens_to_grid(x, grid)
        # On CUDA (torch 2.11, H200), avg_pool2d with count_include_pad=False computes a WRONG
        # backward for a channels-last input (max error 1.47 on unit gradients against fp64 CPU;
        # 1.6e-7 for the same tensor contiguous), so the pool reads a contiguous copy there.
        # The forward was right; tests/test_cuda.py::test_fp64_gradients_match_cpu caught it.
        pooled = F.avg_pool2d(image.contiguous() if image.is_cuda else image, 3, stride=1, padding=1,
                              count_include_pad=False)
        return grid_to_tokens(pooled - image)


class Shift(nn.Module):
    """ShiftViT: with g = C // 12, channel groups 0..3 move one token left, right, up and
    down (zero filled); the other channels pass unchanged. Written with slices and zero
    padding (no scatter), so it exports to plain ONNX Slice/Pad/Concat."""

    def forward(self, x: torch.Tensor, grid: tuple[int, int]) -> torch.Tensor:
        b, n, c = x.shape
        g = c // SHIFT_DIVISIONS
        if g == 0:
            return x
        t = x.reshape(b, grid[0], grid[1], c)  # tokens are row-major over the grid
        # F.pad on B×H×W×C pads (C, W, H) from the last dimension backwards
        left = F.pad(t[:, :, 1:, 0:g], (0, 0, 0, 1))
        right = F.pad(t[:, :, :-1, g:2 * g], (0, 0, 1, 0))
        up = F.pad(t[:, 1:, :, 2 * g:3 * g], (0, 0, 0, 0, 0, 1))
        down = F.pad(t[:, :-1, :, 3 * g:4 * g], (0, 0, 0, 0, 1, 0))
        return torch.cat([left, right, up, down, t[..., 4 * g:]], dim=-1).reshape(b, n, c)


class SparseMLP(nn.Module):
    """sMLPNet: z = GELU(BN(x)); fuse(concat[z, proj_h(z) along H, proj_w(z) along W]).

    proj_h is Linear(H, H) applied to every column, proj_w Linear(W, W) to every row, both
    with bias; fuse a 1×1 conv 3C -> C without bias. The weights are sized by the grid."""

    def __init__(self, dim: int, grid: tuple[int, int]):
        super().__init__()
        self.norm = nn.BatchNorm2d(dim)
        self.proj_h = nn.Linear(grid[0], grid[0])
        self.proj_w = nn.Linear(grid[1], grid[1])
        self.fuse = nn.Conv2d(3 * dim, dim, 1, bias=False)

    def forward(self, x: torch.Tensor, grid: tuple[int, int]) -> torch.Tensor:
        z = F.gelu(self.norm(tokens_to_grid(x, grid)))  # B×C×H×W
        along_h = self.proj_h(z.transpose(2, 3)).transpose(2, 3)
        along_w = self.proj_w(z)
        return grid_to_tokens(self.fuse(torch.cat([z, along_h, along_w], dim=1)))


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
