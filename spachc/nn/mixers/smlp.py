"""`smlp` (sparse MLP): mixes tokens along rows and columns, then fuses with the identity."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from ..layers import grid_to_tokens, tokens_to_grid


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
