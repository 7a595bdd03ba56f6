"""`pool` (PoolFormer): average pooling minus identity, a mixer with no parameters."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from ..layers import grid_to_tokens, tokens_to_grid


class Pool(nn.Module):
    """PoolFormer: AvgPool2d(3, stride 1, padding 1, count_include_pad=False)(x) - x."""

    def forward(self, x: torch.Tensor, grid: tuple[int, int]) -> torch.Tensor:
        image = tokens_to_grid(x, grid)
        # On CUDA (torch 2.11, H200), avg_pool2d with count_include_pad=False computes a WRONG
        # backward for a channels-last input (max error 1.47 on unit gradients against fp64 CPU;
        # 1.6e-7 for the same tensor contiguous), so the pool reads a contiguous copy there.
        # The forward was right; tests/e2e/test_cuda.py::test_fp64_gradients_match_cpu caught it.
        pooled = F.avg_pool2d(image.contiguous() if image.is_cuda else image, 3, stride=1, padding=1,
                              count_include_pad=False)
        return grid_to_tokens(pooled - image)
