"""The registry of block kinds: everything the torch-free front end knows about each one.

A kind is the spatial function f in a SPACH block `y = x + γ·f(LN1(x)) + CPE(x)` (conv has
no f: its only spatial mixing is the CPE). The grammar does not list kinds: the parser reads
any word registered here as a kind. The resolver, rules, printer, counts, limits, graph and
diff all read this table; the torch half of each entry (the module, and the reference
checkpoint layout where one exists) is registered by name in spachc/nn/mixers/__init__.py.

Adding a kind: write its layer in spachc/nn/, add one `Kind` here and one factory there.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Callable

from .cost import Cost, conv, linear, norm

if TYPE_CHECKING:
    from .ir import Stage


@dataclass(frozen=True)
class Kind:
    name: str
    summary: str  # one line, for help texts and docs
    origin: str  # where the equation comes from
    mixer: bool = True  # False only for conv: no spatial function, no LN1, no layer scale
    options: tuple[str, ...] = ()  # stage options that only this kind reads (options.py scope "kind")
    grid_tied: bool = False  # weights sized by the token grid: input size fixed after build
    parameter_free: bool = False  # nothing to share: `shared` is an error
    cost: Callable[["Stage"], Cost] = lambda stage: Cost()  # the mixer alone (params, MACs)
    activation: Callable[["Stage"], int] = lambda stage: 0  # largest mixer activation, elements per image
    detail: Callable[["Stage"], str | None] = lambda stage: None  # extra line for `graph`
    colour: str = "#e5e7eb"  # node fill in `graph`
    paper: bool = False  # one of the paper's three kinds


def _attention(stage: "Stage") -> Cost:
    c, n = stage.dim, stage.tokens
    return linear(c, 3 * c, n, bias=bool(stage.qkv_bias)) + Cost(macs=2 * n * n * c) + linear(c, c, n)


def _token_mlp(stage: "Stage") -> Cost:
    """For each of the c channels, N -> hidden -> N with one set of weights."""
    n, hidden = stage.tokens, stage.token_hidden
    return (linear(n, hidden, 1) + linear(hidden, n, 1)).times(stage.dim)


def _smlp(stage: "Stage") -> Cost:
    """BN; Linear(H,H) along H for each (channel, column); Linear(W,W) along W; 1x1 conv 3C->C."""
    c, (h, w) = stage.dim, stage.grid
    return norm(c) + linear(h, h, c * w) + linear(w, w, c * h) + conv(3 * c, c, 1, stage.tokens, bias=False)


def _sepconv(stage: "Stage") -> Cost:
    """Linear(C,2C), StarReLU (scale and bias: 2 params), 7x7 depthwise conv, Linear(2C,C); no biases."""
    c, n = stage.dim, stage.tokens
    return (linear(c, 2 * c, n, bias=False) + Cost(params=2) + conv(2 * c, 2 * c, 7, n, bias=False, groups=2 * c)
            + linear(2 * c, c, n, bias=False))


KINDS: dict[str, Kind] = {k.name: k for k in (
    Kind("conv", "no spatial mixer: the block's CPE (3x3 depthwise conv) is its only spatial mixing",
         "SPACH", mixer=False, colour="#dbeafe", paper=True),
    Kind("trans", "multi-head self-attention over all tokens", "SPACH", options=("heads", "qkv_bias"),
         cost=_attention, activation=lambda s: s.tokens * s.tokens * (s.heads or 1),
         detail=lambda s: f"heads {s.heads}, head_dim {s.head_dim}", colour="#fde68a", paper=True),
    Kind("mlp", "an MLP across all tokens, per channel (tied to the token grid)", "SPACH", options=("token_ratio",),
         grid_tied=True, cost=_token_mlp, activation=lambda s: (s.token_hidden or 0) * s.dim,
         detail=lambda s: f"token hidden {s.token_hidden}", colour="#bbf7d0", paper=True),
    Kind("pool", "3x3 average pooling minus its input", "PoolFormer (timm metaformer.py Pooling)",
         parameter_free=True, colour="#e9d5ff"),
    Kind("shift", "shift four groups of C//12 channels one token left, right, up, down",
         "ShiftViT (microsoft/SPACH models/shiftvit.py shift_feat)", parameter_free=True,
         detail=lambda s: f"{s.dim // 12} channels per direction", colour="#fecaca"),
    Kind("smlp", "sparse MLP: Linear along H and along W, fused with the input (tied to the token grid)",
         "sMLPNet (microsoft/SPACH models/smlp.py sMLPBlock)", grid_tied=True, cost=_smlp,
         activation=lambda s: 3 * s.dim * s.tokens, detail=lambda s: f"grid {s.grid[0]}x{s.grid[1]}",
         colour="#bae6fd"),
    Kind("sepconv", "inverted separable conv: Linear C->2C, StarReLU, 7x7 depthwise, Linear 2C->C",
         "MetaFormer (timm metaformer.py SepConv)", cost=_sepconv, activation=lambda s: 2 * s.dim * s.tokens,
         colour="#fed7aa"),
)}

KIND_NAMES: tuple[str, ...] = tuple(KINDS)


def kind(name: str) -> Kind:
    return KINDS[name]


def mixer_kinds() -> tuple[str, ...]:
    return tuple(k.name for k in KINDS.values() if k.mixer)


def describe_kinds() -> str:
    """`conv, trans or mlp` and the later kinds, for diagnostics: the paper's three first."""
    paper = [k for k, v in KINDS.items() if v.paper]
    later = [k for k, v in KINDS.items() if not v.paper]
    text = ", ".join(paper[:-1]) + " or " + paper[-1]
    return text + (f" (the paper's), or {', '.join(later)}" if later else "")
