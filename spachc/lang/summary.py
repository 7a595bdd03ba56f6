"""`spachc.summary(spec)`: what a spec builds, counted without allocating weights."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict

from .._version import __version__
from .counts import head_cost, stage_cost, stem_cost, total_cost
from .ir import Spec


class _Row(BaseModel):
    model_config = ConfigDict(frozen=True)


class StageRow(_Row):
    index: int
    blocks: str  # e.g. "conv x2, trans x10"
    dim: int
    grid: tuple[int, int]
    heads: int | None
    shared: bool
    params: int
    macs: int


class Summary(_Row):
    name: str
    spec_hash: str
    spachc_version: str
    input_shape: tuple[int, int, int, int]  # batch 1
    output_shape: tuple[int, int]
    stem_params: int
    stem_macs: int
    stages: tuple[StageRow, ...]
    head_params: int
    head_macs: int
    params: int
    macs: int


def summary(spec: Spec) -> Summary:
    rows = []
    for i, stage in enumerate(spec.stages):
        cost = stage_cost(spec, i)
        rows.append(StageRow(
            index=i + 1, blocks=", ".join(f"{g.kind} x{g.repeat}" for g in stage.groups), dim=stage.dim,
            grid=stage.grid, heads=stage.heads, shared=stage.shared, params=cost.params, macs=cost.macs,
        ))
    stem, head, total = stem_cost(spec), head_cost(spec), total_cost(spec)
    return Summary(
        name=spec.name, spec_hash=spec.hash, spachc_version=__version__,
        input_shape=(1, spec.channels, *spec.input), output_shape=(1, spec.classes),
        stem_params=stem.params, stem_macs=stem.macs, stages=tuple(rows),
        head_params=head.params, head_macs=head.macs, params=total.params, macs=total.macs,
    )
