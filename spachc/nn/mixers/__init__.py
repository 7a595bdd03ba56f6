"""The torch half of the kind registry: each kind's module factory, looked up by name.

One module per kind beside this one (trans, mlp: the paper's; pool, shift, smlp, sepconv: the
later four; the paper's conv block has no mixer, only the CPE every block has). Each mixer is the f of a SPACH block `y = x + γ·f(LN1(x)) + CPE(x)`,
with the signature every mixer has: `forward(tokens B×N×C, grid (h, w)) -> B×N×C`. Their
equations and sources are in docs/LANGUAGE.md.

The torch-free half (counts, grid ties, options, diagnostics) is spachc/lang/kinds.py;
tests check both halves list the same kinds. `REFERENCE_LAYOUT` lists the kinds whose
weights the paper's reference checkpoints hold (spachc.nn.upstream maps those).
"""

from __future__ import annotations

from typing import Callable

from torch import nn

from ...lang.ir import Stage
from .mlp import TokenMLP
from .pool import Pool
from .sepconv import SepConv
from .shift import Shift
from .smlp import SparseMLP
from .trans import Attention

MIXERS: dict[str, Callable[[Stage], nn.Module]] = {
    "trans": lambda stage: Attention(stage.dim, stage.heads, bool(stage.qkv_bias)),
    "mlp": lambda stage: TokenMLP(stage.tokens, stage.token_hidden),
    "pool": lambda stage: Pool(),
    "shift": lambda stage: Shift(),
    "smlp": lambda stage: SparseMLP(stage.dim, stage.grid),
    "sepconv": lambda stage: SepConv(stage.dim),
}

REFERENCE_LAYOUT = frozenset({"conv", "trans", "mlp"})  # microsoft/SPACH's `spatial_func` checkpoints


def make_mixer(stage: Stage, kind: str) -> nn.Module | None:
    """The spatial mixer of one block of `kind` (None for conv, which has none)."""
    factory = MIXERS.get(kind)
    return factory(stage) if factory is not None else None
