"""`shift` (ShiftViT): four channel groups shifted one token in each direction, no parameters."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


SHIFT_DIVISIONS = 12  # ShiftViT's n_div: four groups of C // 12 channels move


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
