"""The building blocks of a SPACH network (SPACH.md, "The network, exactly").

Tokens are `B×N×C` throughout; modules that need the image grid view the same memory
as `B×C×h×w` with channels-last strides, so no block copies its input to change layout.
"""

from __future__ import annotations

import torch
from torch import nn

from .fused import fused_kernels, linear, linear_add, linear_gelu

LN_EPS = 1e-6


def tokens_to_grid(x: torch.Tensor, grid: tuple[int, int]) -> torch.Tensor:
    """B×N×C tokens as a B×C×h×w image; a view (channels-last strides), not a copy."""
    b, _, c = x.shape
    return x.transpose(1, 2).reshape(b, c, grid[0], grid[1])


def grid_to_tokens(x: torch.Tensor) -> torch.Tensor:
    return x.flatten(2).transpose(1, 2)


def channels_last(images: torch.Tensor) -> torch.Tensor:
    """Images for a stem conv, in channels-last memory: the conv's output is then token-major,
    so `grid_to_tokens` of it is a view and the stem's LayerNorm (forward and backward) and the
    conv's weight gradient need no copy. One copy of the 3-channel input buys that (none where
    the images already are channels-last). torch.compile sees it as a layout for inductor to
    keep; exported graphs (ONNX, torch.export, jit traces) are left as they were, layout-free."""
    if torch.onnx.is_in_onnx_export() or torch.compiler.is_exporting() or torch.jit.is_tracing():
        return images
    return images.contiguous(memory_format=torch.channels_last)


class DropPath(nn.Module):
    """Stochastic depth: drop a residual branch for whole samples while training."""

    def __init__(self, rate: float):
        super().__init__()
        self.rate = rate

    @property
    def active(self) -> bool:
        return self.training and self.rate > 0.0

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self.active:
            return x
        keep = 1.0 - self.rate
        mask = x.new_empty((x.shape[0],) + (1,) * (x.ndim - 1)).bernoulli_(keep)
        return x * mask.div_(keep)

    def extra_repr(self) -> str:
        return f"rate={self.rate:g}"


class ChannelMLP(nn.Module):
    def __init__(self, dim: int, hidden: int):
        super().__init__()
        self.fc1 = nn.Linear(dim, hidden)
        self.fc2 = nn.Linear(hidden, dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        fused = fused_kernels(x)
        return linear(linear_gelu(x, self.fc1, fused), self.fc2, fused)

    def add_to(self, residual: torch.Tensor, x: torch.Tensor, fused: bool) -> torch.Tensor:
        """residual + self(x), with GELU and the add inside the GEMMs where `fused`."""
        return linear_add(linear_gelu(x, self.fc1, fused), self.fc2, residual, fused)


class PositionalConv(nn.Module):
    """CPE: a 3×3 depthwise conv over the token grid."""

    def __init__(self, dim: int):
        super().__init__()
        self.conv = nn.Conv2d(dim, dim, 3, padding=1, groups=dim)

    def forward(self, x: torch.Tensor, grid: tuple[int, int]) -> torch.Tensor:
        return grid_to_tokens(self.conv(tokens_to_grid(x, grid)))


class MixingBlock(nn.Module):
    """x -> y = x + γ·mixer(LN1 x) + CPE(x) -> y + MLP(LN2 y).

    A conv block has no mixer (its only spatial mixing is the CPE). The CPE reads the
    block input x, and drop path covers the mixer and MLP branches, not the CPE.

    The token grid (h, w) is an argument of every forward, computed from the input by the
    network, never stored in a layer: one module serves any input size its kinds allow.
    A spatial mixer is any module `mixer(tokens B×N×C, grid) -> B×N×C`.
    """

    def __init__(self, dim: int, mlp_hidden: int, mixer: nn.Module | None,
                 cpe: bool, layerscale: float | None, drop_path: float):
        super().__init__()
        self.mixer_norm = nn.LayerNorm(dim, eps=LN_EPS) if mixer is not None else None
        self.mixer = mixer
        has_scale = mixer is not None and layerscale is not None
        self.layer_scale = nn.Parameter(torch.full((dim,), float(layerscale))) if has_scale else None
        self.pos = PositionalConv(dim) if cpe else None
        self.mlp_norm = nn.LayerNorm(dim, eps=LN_EPS)
        self.mlp = ChannelMLP(dim, mlp_hidden)
        self.drop_path = DropPath(drop_path)

    def forward(self, x: torch.Tensor, grid: tuple[int, int]) -> torch.Tensor:
        if not self.drop_path.active and fused_kernels(x):
            return self._forward_fused(x, grid)
        y = x
        if self.mixer is not None:
            mixed = self.mixer(self.mixer_norm(x), grid)
            if self.layer_scale is not None:
                mixed = mixed * self.layer_scale
            y = x + self.drop_path(mixed)
        if self.pos is not None:
            y = y + self.pos(x, grid)
        return y + self.drop_path(self.mlp(self.mlp_norm(y)))

    def _forward_fused(self, x: torch.Tensor, grid: tuple[int, int]) -> torch.Tensor:
        """The same function on CPU (fp32; bf16 in inference) without drop path: the MLP's
        biases and residual add run inside its GEMMs (in inference its GELU too), the layer
        scale in the residual add (addcmul). In inference the CPE sum accumulates in place in the
        conv's fresh output; not under autograd, where an in-place add to that token view would
        make the backward copy the gradient back into the conv's layout."""
        if self.pos is None:
            y = x
        else:
            y = self.pos(x, grid)
            y = y.add_(x) if not torch.is_grad_enabled() else x + y
        if self.mixer is not None:
            mixed = self.mixer(self.mixer_norm(x), grid)
            if self.layer_scale is not None:
                y = torch.addcmul(y, mixed, self.layer_scale)
            else:
                y = y + mixed
        return self.mlp.add_to(y, self.mlp_norm(y), fused=True)


class Downsample(nn.Module):
    """Halve the grid with a 2×2 stride-2 conv, then GroupNorm with one group."""

    def __init__(self, dim_in: int, dim_out: int):
        super().__init__()
        self.conv = nn.Conv2d(dim_in, dim_out, 2, stride=2, bias=False)
        self.norm = nn.GroupNorm(1, dim_out, eps=1e-5)

    def forward(self, x: torch.Tensor, grid: tuple[int, int]) -> tuple[torch.Tensor, tuple[int, int]]:
        """Tokens on `grid` -> tokens on the halved grid, and that grid."""
        out = self.norm(self.conv(tokens_to_grid(x, grid)))
        return grid_to_tokens(out), (out.shape[-2], out.shape[-1])


class PatchStem(nn.Module):
    """conv1: one P×P stride-P conv."""

    def __init__(self, in_channels: int, dim: int, patch: int):
        super().__init__()
        self.proj = nn.Conv2d(in_channels, dim, patch, stride=patch)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return self.proj(channels_last(images))


class ConvStem(nn.Module):
    """conv4: 7×7/2 conv, two 3×3 convs (each with BN+ReLU), then a P/2 patch conv."""

    def __init__(self, in_channels: int, dim: int, patch: int, hidden: int):
        super().__init__()
        layers: list[nn.Module] = []
        for c_in, k, s, p in ((in_channels, 7, 2, 3), (hidden, 3, 1, 1), (hidden, 3, 1, 1)):
            layers += [nn.Conv2d(c_in, hidden, k, stride=s, padding=p, bias=False),
                       nn.BatchNorm2d(hidden), nn.ReLU(inplace=True)]
        self.body = nn.Sequential(*layers)
        self.proj = nn.Conv2d(hidden, dim, patch // 2, stride=patch // 2)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return self.proj(self.body(channels_last(images)))
