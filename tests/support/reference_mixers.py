"""The four later mixers written out from their equations (docs/LANGUAGE.md), plainly.

Independent of spachc.nn.mixers: images in B×C×H×W with explicit loops over
neighbours and kernel offsets, the original ShiftViT scatter into zeros, einsum for every
matrix product, BatchNorm from its formula. Parameter names and shapes follow spachc's
state_dict (under the reference's `spatial_func.`), so weights load with strict=True.
"""

from __future__ import annotations

import torch
from torch import nn

BN_EPS = 1e-5


def to_image(x, h, w):
    b, n, c = x.shape
    return x.transpose(1, 2).reshape(b, c, h, w)


def to_tokens(x):
    b, c, h, w = x.shape
    return x.reshape(b, c, h * w).transpose(1, 2)


def shifted(image, dy, dx):
    """out[..., i, j] = image[..., i + dy, j + dx], zero outside the image."""
    out = torch.zeros_like(image)
    h, w = image.shape[-2:]
    ys, ye = max(0, -dy), min(h, h - dy)
    xs, xe = max(0, -dx), min(w, w - dx)
    if ys < ye and xs < xe:
        out[..., ys:ye, xs:xe] = image[..., ys + dy:ye + dy, xs + dx:xe + dx]
    return out


class PoolMixer(nn.Module):
    """mean of the 3×3 neighbours that lie inside the image, minus the centre."""

    def __init__(self, grid):
        super().__init__()
        self.grid = grid

    def forward(self, x):
        image = to_image(x, *self.grid)
        total, count = torch.zeros_like(image), torch.zeros_like(image[:1, :1])
        for dy in (-1, 0, 1):
            for dx in (-1, 0, 1):
                total = total + shifted(image, dy, dx)
                count = count + shifted(torch.ones_like(image[:1, :1]), dy, dx)
        return to_tokens(total / count - image)


class ShiftMixer(nn.Module):
    """microsoft/SPACH shift_feat: out = zeros; four groups of C // 12 channels moved."""

    def __init__(self, grid):
        super().__init__()
        self.grid = grid

    def forward(self, x):
        image = to_image(x, *self.grid)
        g = image.shape[1] // 12
        out = torch.zeros_like(image)
        out[:, 0 * g:1 * g, :, :-1] = image[:, 0 * g:1 * g, :, 1:]  # left
        out[:, 1 * g:2 * g, :, 1:] = image[:, 1 * g:2 * g, :, :-1]  # right
        out[:, 2 * g:3 * g, :-1, :] = image[:, 2 * g:3 * g, 1:, :]  # up
        out[:, 3 * g:4 * g, 1:, :] = image[:, 3 * g:4 * g, :-1, :]  # down
        out[:, 4 * g:] = image[:, 4 * g:]
        return to_tokens(out)


class _Weights(nn.Module):
    def __init__(self, **shapes):
        super().__init__()
        for name, shape in shapes.items():
            setattr(self, name, nn.Parameter(torch.zeros(shape)))


class SparseMlpMixer(nn.Module):
    """z = GELU(BN(x)); fuse(concat[z, Wh·z along H + bh, Ww·z along W + bw])."""

    def __init__(self, dim, grid):
        super().__init__()
        h, w = grid
        self.grid = grid
        self.norm = _Weights(weight=(dim,), bias=(dim,))
        self.norm.register_buffer("running_mean", torch.zeros(dim))
        self.norm.register_buffer("running_var", torch.ones(dim))
        self.norm.register_buffer("num_batches_tracked", torch.zeros((), dtype=torch.long))
        self.proj_h = _Weights(weight=(h, h), bias=(h,))
        self.proj_w = _Weights(weight=(w, w), bias=(w,))
        self.fuse = _Weights(weight=(dim, 3 * dim, 1, 1))

    def forward(self, x):
        image = to_image(x, *self.grid)
        if self.training:  # batch statistics, biased variance
            mean = image.mean(dim=(0, 2, 3))
            var = image.var(dim=(0, 2, 3), unbiased=False)
        else:
            mean, var = self.norm.running_mean, self.norm.running_var
        bn = (image - mean[:, None, None]) / torch.sqrt(var[:, None, None] + BN_EPS)
        z = bn * self.norm.weight[:, None, None] + self.norm.bias[:, None, None]
        z = 0.5 * z * (1 + torch.erf(z / 2 ** 0.5))
        along_h = torch.einsum("gh,bchw->bcgw", self.proj_h.weight, z) + self.proj_h.bias[:, None]
        along_w = torch.einsum("vw,bchw->bchv", self.proj_w.weight, z) + self.proj_w.bias
        stacked = torch.cat([z, along_h, along_w], dim=1)
        return to_tokens(torch.einsum("ok,bkhw->bohw", self.fuse.weight[:, :, 0, 0], stacked))


class SepConvMixer(nn.Module):
    """W2 · dw7x7(s·relu(W1 x)² + b), every product explicit, no biases."""

    def __init__(self, dim, grid):
        super().__init__()
        self.grid = grid
        self.pwconv1 = _Weights(weight=(2 * dim, dim))
        self.act = _Weights(scale=(1,), bias=(1,))
        self.dwconv = _Weights(weight=(2 * dim, 1, 7, 7))
        self.pwconv2 = _Weights(weight=(dim, 2 * dim))

    def forward(self, x):
        image = to_image(x, *self.grid)
        hidden = torch.einsum("dc,bchw->bdhw", self.pwconv1.weight, image)
        hidden = self.act.scale * torch.clamp(hidden, min=0) ** 2 + self.act.bias
        conv = torch.zeros_like(hidden)
        for i in range(7):
            for j in range(7):
                conv = conv + shifted(hidden, i - 3, j - 3) * self.dwconv.weight[:, 0, i, j][:, None, None]
        return to_tokens(torch.einsum("cd,bdhw->bchw", self.pwconv2.weight, conv))


def later_mixer(kind: str, dim: int, grid):
    """The reference mixer of a kind that is not one of the paper's three, or None."""
    return {"pool": lambda: PoolMixer(grid), "shift": lambda: ShiftMixer(grid),
            "smlp": lambda: SparseMlpMixer(dim, grid), "sepconv": lambda: SepConvMixer(dim, grid)}.get(kind, lambda: None)()
