"""The oracle: SPACH written plainly from SPACH.md, in the style of the paper's own code.

Explicit transposes, a materialised attention matrix, a token MLP applied to transposed
tokens, CPE and downsampling through tokens -> image -> tokens copies. Its module tree
uses the reference checkpoint key layout (`stem.proj`, `norm1`, `layerI.J.*` or
`blocks.J.*`, `norm2`, `head`), so `upstream_zoo.json` layouts and the fixtures'
`*.upstream.safetensors` load into it with `load_state_dict(strict=True)`.

It reads only the architecture from a Spec (dims, ratios, kinds, grid sizes derived from
the input and the patch); every hidden size and grid is recomputed here, not taken from
spachc's resolver, so the comparison with spachc's compiled model stays independent.
"""

from __future__ import annotations

import torch
from support.reference_mixers import later_mixer
from torch import nn

LN_EPS = 1e-6


def to_image(x: torch.Tensor, h: int, w: int) -> torch.Tensor:
    """b (h w) c -> b c h w."""
    b, n, c = x.shape
    return x.transpose(1, 2).reshape(b, c, h, w)


def to_tokens(x: torch.Tensor) -> torch.Tensor:
    """b c h w -> b (h w) c."""
    b, c, h, w = x.shape
    return x.reshape(b, c, h * w).transpose(1, 2)


class ToImage(nn.Module):
    def __init__(self, h: int, w: int):
        super().__init__()
        self.h, self.w = h, w

    def forward(self, x):
        return to_image(x, self.h, self.w)


class ToTokens(nn.Module):
    def forward(self, x):
        return to_tokens(x)


class DropPath(nn.Module):
    def __init__(self, rate: float):
        super().__init__()
        self.rate = rate

    def forward(self, x):
        if self.rate == 0.0 or not self.training:
            return x
        keep = 1 - self.rate
        mask = torch.rand((x.shape[0],) + (1,) * (x.ndim - 1), dtype=x.dtype, device=x.device)
        return x / keep * torch.floor(keep + mask)


class Mlp(nn.Module):
    def __init__(self, dim: int, hidden: int):
        super().__init__()
        self.fc1 = nn.Linear(dim, hidden)
        self.act = nn.GELU()
        self.fc2 = nn.Linear(hidden, dim)

    def forward(self, x):
        return self.fc2(self.act(self.fc1(x)))


class Attention(nn.Module):
    def __init__(self, dim: int, heads: int, qkv_bias: bool):
        super().__init__()
        self.heads = heads
        self.scale = (dim // heads) ** -0.5
        self.qkv = nn.Linear(dim, dim * 3, bias=qkv_bias)
        self.proj = nn.Linear(dim, dim)

    def forward(self, x):
        b, n, c = x.shape
        qkv = self.qkv(x).reshape(b, n, 3, self.heads, c // self.heads).permute(2, 0, 3, 1, 4)
        q, k, v = qkv[0], qkv[1], qkv[2]
        attn = (q * self.scale) @ k.transpose(-2, -1)
        attn = attn.softmax(dim=-1)
        x = (attn @ v).transpose(1, 2).reshape(b, n, c)
        return self.proj(x)


class SpatialMlp(nn.Module):
    """Token mixing: transpose to b c n, an MLP over n, transpose back."""

    def __init__(self, tokens: int, hidden: int):
        super().__init__()
        self.fc1 = nn.Linear(tokens, hidden)
        self.act = nn.GELU()
        self.fc2 = nn.Linear(hidden, tokens)

    def forward(self, x):
        x = x.transpose(1, 2)
        x = self.fc2(self.act(self.fc1(x)))
        return x.transpose(1, 2)


class Cpe(nn.Module):
    def __init__(self, dim: int, h: int, w: int):
        super().__init__()
        self.net = nn.Sequential(ToImage(h, w), nn.Conv2d(dim, dim, 3, padding=1, groups=dim), ToTokens())

    def forward(self, x):
        return self.net(x)


class MixingBlock(nn.Module):
    def __init__(self, dim, hidden, spatial, grid, cpe, layerscale, drop_path):
        super().__init__()
        if spatial is not None:
            self.norm1 = nn.LayerNorm(dim, eps=LN_EPS)
            self.spatial_func = spatial
            if layerscale is not None:
                self.gamma_1 = nn.Parameter(layerscale * torch.ones(1, 1, dim))
            else:
                self.gamma_1 = None
        else:
            self.spatial_func = None
        self.norm2 = nn.LayerNorm(dim, eps=LN_EPS)
        self.channel_func = Mlp(dim, hidden)
        self.cpe_net = Cpe(dim, *grid) if cpe else None
        self.drop_path = DropPath(drop_path)

    def forward(self, x):
        in_x = x
        if self.spatial_func is not None:
            s = self.spatial_func(self.norm1(in_x))
            if self.gamma_1 is not None:
                s = self.gamma_1 * s
            x = x + self.drop_path(s)
        if self.cpe_net is not None:
            x = x + self.cpe_net(in_x)
        x = x + self.drop_path(self.channel_func(self.norm2(x)))
        return x


class Downsample(nn.Module):
    def __init__(self, dim_in, dim_out, grid_in):
        super().__init__()
        self.net = nn.Sequential(
            ToImage(*grid_in),
            nn.Sequential(nn.Conv2d(dim_in, dim_out, 2, stride=2, bias=False), nn.GroupNorm(1, dim_out, eps=1e-5)),
            ToTokens(),
        )

    def forward(self, x):
        return self.net(x)


def _stem(spec, dim: int) -> nn.Module:
    p, c_in = spec.stem.patch, spec.channels
    if spec.stem.kind == "conv1":
        return nn.Conv2d(c_in, dim, p, stride=p)
    hid = spec.stem.hidden
    return nn.Sequential(
        nn.Conv2d(c_in, hid, 7, stride=2, padding=3, bias=False), nn.BatchNorm2d(hid), nn.ReLU(inplace=True),
        nn.Conv2d(hid, hid, 3, stride=1, padding=1, bias=False), nn.BatchNorm2d(hid), nn.ReLU(inplace=True),
        nn.Conv2d(hid, hid, 3, stride=1, padding=1, bias=False), nn.BatchNorm2d(hid), nn.ReLU(inplace=True),
        nn.Conv2d(hid, dim, p // 2, stride=p // 2),
    )


class Stem(nn.Module):
    def __init__(self, spec, dim):
        super().__init__()
        self.proj = _stem(spec, dim)

    def forward(self, x):
        return to_tokens(self.proj(x))


class ReferenceSpach(nn.Module):
    """SPACH from SPACH.md, keyed like the paper's checkpoints."""

    def __init__(self, spec):
        super().__init__()
        self.multi_stage = len(spec.stages) > 1
        grid = (spec.input[0] // spec.stem.patch, spec.input[1] // spec.stem.patch)
        self.stem = Stem(spec, spec.stages[0].dim)
        self.norm1 = nn.LayerNorm(spec.stages[0].dim, eps=LN_EPS)
        self.layer_names = []
        prev_dim = None
        for i, stage in enumerate(spec.stages):
            modules = []
            if i:
                modules.append(Downsample(prev_dim, stage.dim, grid))
                grid = (grid[0] // 2, grid[1] // 2)
            modules += self._blocks(stage, grid)
            prev_dim = stage.dim
            name = f"layer{i + 1}" if self.multi_stage else "blocks"
            setattr(self, name, nn.ModuleList(modules))
            self.layer_names.append(name)
        self.norm2 = nn.LayerNorm(spec.stages[-1].dim, eps=LN_EPS)
        self.head = nn.Linear(spec.stages[-1].dim, spec.classes)

    @staticmethod
    def _blocks(stage, grid) -> list[nn.Module]:
        dim, tokens = stage.dim, grid[0] * grid[1]

        def spatial(kind):
            if kind == "trans":
                return Attention(dim, stage.heads, bool(stage.qkv_bias))
            if kind == "mlp":
                return SpatialMlp(tokens, int(tokens * stage.token_ratio))
            return later_mixer(kind, dim, grid)  # pool, shift, smlp, sepconv (reference_mixers.py)

        kinds = [g.kind for g in stage.groups for _ in range(g.repeat)]
        shared = spatial(next(k for k in kinds if k != "conv")) if stage.shared else None
        blocks = []
        for kind, block in zip(kinds, stage.blocks):
            mixer = None if kind == "conv" else (shared if shared is not None else spatial(kind))
            blocks.append(MixingBlock(dim, int(dim * stage.channel_ratio), mixer, grid, stage.cpe,
                                      stage.layerscale if mixer is not None else None, block.drop_path))
        return blocks

    def forward_features(self, x):
        x = self.norm1(self.stem(x))
        for name in self.layer_names:
            for module in getattr(self, name):
                x = module(x)
        return self.norm2(x)

    def forward(self, x):
        x = self.forward_features(x)
        return self.head(x.mean(1))


def reference_from_spachc(spec, model: nn.Module) -> ReferenceSpach:
    """A ReferenceSpach carrying the same weights as a spachc model of the same spec."""
    from spachc.nn.upstream import upstream_key

    ref = ReferenceSpach(spec)
    state = {upstream_key(spec, k): v for k, v in model.state_dict().items()}
    target = ref.state_dict()
    for key, tensor in state.items():
        if key in target and target[key].shape != tensor.shape:
            state[key] = tensor.reshape(target[key].shape)  # gamma_1 is 1x1xC upstream
    ref.load_state_dict(state, strict=True)
    return ref
