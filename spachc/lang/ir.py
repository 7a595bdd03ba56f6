"""The IR: a fully resolved, immutable description of one SPACH network.

Everything the compiler needs is here and nothing it does not: defaults are applied,
widths and token grids computed, every block carries its stochastic-depth rate.
Options that cannot affect a stage are normalised to None (heads without attention,
token_ratio without a token-MLP, ...) so that equal networks have equal IRs.
The IR knows nothing of Lark or torch; `spachc.lang.rules` holds the static rules (it reads
the IR only through its attributes, so ir -> rules is the one direction of import).
"""

from __future__ import annotations

import hashlib
import json
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from .geometry import drop_path_rates, halve, stem_grid  # noqa: F401  (re-exported for readers of the IR)
from .kinds import KIND_NAMES
from .rules import check

IR_VERSION = 1
Kind = Literal[KIND_NAMES]  # every kind of the registry (kinds.py)


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Stem(_Frozen):
    kind: Literal["conv1", "conv4"] = "conv1"
    patch: int = Field(ge=1, description="side of the patch each token covers")
    hidden: int | None = Field(default=None, ge=1, description="conv4 only: width of its 3x3 convs")


class Group(_Frozen):
    kind: Kind
    repeat: int = Field(ge=1)


class Block(_Frozen):
    kind: Kind
    drop_path: float = Field(ge=0, lt=1, description="stochastic-depth rate of this block")


class Stage(_Frozen):
    groups: tuple[Group, ...] = Field(min_length=1)
    dim: int = Field(ge=1)
    grid: tuple[int, int] = Field(description="token grid (height, width)")
    heads: int | None = Field(default=None, description="attention heads; None without trans blocks")
    channel_ratio: float = Field(gt=0)
    token_ratio: float | None = Field(default=None, description="None without mlp blocks")
    cpe: bool = True
    layerscale: float | None = Field(default=None, description="initial layer scale; None = off or no mixer")
    qkv_bias: bool | None = Field(default=None, description="None without trans blocks")
    shared: bool = False
    channel_hidden: int = Field(description="int(dim * channel_ratio)")
    token_hidden: int | None = Field(default=None, description="int(tokens * token_ratio) with mlp blocks")
    blocks: tuple[Block, ...]

    @property
    def tokens(self) -> int:
        return self.grid[0] * self.grid[1]

    @property
    def kinds(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(g.kind for g in self.groups))

    def has(self, kind: str) -> bool:
        return any(g.kind == kind for g in self.groups)

    @property
    def head_dim(self) -> int | None:
        return self.dim // self.heads if self.heads else None


class Spec(_Frozen):
    version: Literal[1] = IR_VERSION
    name: str
    input: tuple[int, int] = Field(description="image (height, width)")
    channels: int = Field(default=3, ge=1)
    classes: int = Field(ge=1)
    stem: Stem
    drop_path: float = Field(default=0.0, ge=0, lt=1)
    stages: tuple[Stage, ...] = Field(min_length=1)

    @model_validator(mode="after")
    def _obeys_the_rules(self) -> "Spec":
        errors = [v for v in check(self) if v.severity == "error"]
        if errors:
            raise ValueError("; ".join(f"[{v.code}] {'.'.join(map(str, v.path))}: {v.message}" for v in errors))
        return self

    @property
    def blocks(self) -> tuple[Block, ...]:
        return tuple(b for s in self.stages for b in s.blocks)

    @property
    def drop_path_schedule(self) -> str:
        """`constant` or `linear`, read from the blocks' rates (they carry it, and the hash
        covers them); with rate 0 both schedules are the same network, called linear."""
        blocks = self.blocks
        constant = self.drop_path > 0 and bool(blocks) and blocks[0].drop_path == self.drop_path
        return "constant" if constant else "linear"

    @property
    def output_grid(self) -> tuple[int, int]:
        return self.stages[-1].grid

    @property
    def hash(self) -> str:
        return spec_hash(self)

    def to_json(self, indent: int | None = 2) -> str:
        return self.model_dump_json(indent=indent)

    @classmethod
    def from_json(cls, text: str | bytes) -> "Spec":
        return cls.model_validate_json(text)


def spec_hash(spec: Spec) -> str:
    """sha256 of the canonical JSON of the architecture. The model name is a label, not
    architecture, so renaming a spec keeps its hash (and its checkpoints)."""
    data = spec.model_dump(mode="json", exclude={"name"})
    canonical = json.dumps(data, sort_keys=True, separators=(",", ":"), allow_nan=False)
    return hashlib.sha256(canonical.encode()).hexdigest()


# --- blocks from groups (stem_grid, halve and drop_path_rates live in geometry.py) ---

def expand_blocks(groups: tuple[Group, ...], rates: list[float]) -> tuple[Block, ...]:
    kinds = [g.kind for g in groups for _ in range(g.repeat)]
    # Unvalidated here: the resolver reports bad rates with spans; the Spec validator re-checks.
    return tuple(Block.model_construct(kind=k, drop_path=r) for k, r in zip(kinds, rates))
