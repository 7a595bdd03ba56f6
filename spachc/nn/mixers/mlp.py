"""`mlp`: an MLP across the tokens of each channel (the paper's MLP-Mixer token mixer).

Its weights are tied to the token grid: N = h·w is fixed by the spec."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from ..fused import fusable


class TokenMLP(nn.Module):
    """Mixes the N tokens of each channel with an MLP, contracting the token axis of B×N×C
    in place of transposing it: one batched GEMM `W @ x_b` per layer, with the bias added
    by the GEMM itself (baddbmm), so no transposed copy and no separate bias pass."""

    def __init__(self, tokens: int, hidden: int):
        super().__init__()
        self.fc1 = nn.Linear(tokens, hidden)
        self.fc2 = nn.Linear(hidden, tokens)

    def forward(self, x: torch.Tensor, grid: tuple[int, int]) -> torch.Tensor:
        b = x.shape[0]
        h = torch.baddbmm(self.fc1.bias[:, None], self.fc1.weight.expand(b, -1, -1), x)
        h = torch.ops.aten.gelu_(h) if fusable(x) else F.gelu(h)  # in place only where no autograd graph is kept
        return torch.baddbmm(self.fc2.bias[:, None], self.fc2.weight.expand(b, -1, -1), h)
