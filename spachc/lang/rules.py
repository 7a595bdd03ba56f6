"""The static rules of LANGUAGE.md, stated once over the IR.

Each rule yields a `Violation` with a stable code and the IR path it concerns, e.g.
("stages", 2, "heads"). The resolver maps paths back to the text that set them; the
IR's own validator uses the same rules when a spec arrives as JSON.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Iterator

from .geometry import drop_path_rates, halve, stem_grid
from .kinds import KINDS
from .options import STAGE_OPTIONS
from ..diagnostics.codes import (
    E302, E303, E304, E305, E309, E401, E402, E403, E404, E405, E501, E502, E503, W101, W102, W104,
)

if TYPE_CHECKING:
    from .ir import Spec, Stage

Path = tuple


@dataclass(frozen=True)
class Violation:
    code: str
    message: str
    path: Path
    hint: str | None = None
    severity: str = "error"


def check(spec: "Spec") -> list[Violation]:
    return list(_check_top(spec)) + [v for i, s in enumerate(spec.stages) for v in _check_stage(spec, i, s)] \
        + list(_check_geometry(spec)) + list(_check_derived(spec))


def _at_least_one(value, path: Path, what: str) -> Iterator[Violation]:
    if value is not None and value < 1:
        yield Violation(E302, f"{what} must be at least 1, got {value}", path)


def _check_top(spec: "Spec") -> Iterator[Violation]:
    h, w = spec.input
    yield from _at_least_one(min(h, w), ("input",), "the input size")
    yield from _at_least_one(spec.channels, ("channels",), "channels")
    yield from _at_least_one(spec.classes, ("classes",), "classes")
    yield from _at_least_one(spec.stem.patch, ("stem", "patch"), "the patch size")
    yield from _at_least_one(spec.stem.hidden, ("stem", "hidden"), "the stem's hidden width")
    if not 0 <= spec.drop_path < 1:
        yield Violation(E304, f"drop_path must satisfy 0 <= rate < 1, got {spec.drop_path:g}", ("drop_path",))
    if spec.stem.kind == "conv4" and spec.stem.patch >= 1 and (spec.stem.patch < 2 or spec.stem.patch % 2):
        yield Violation(E402, f"the conv4 stem needs an even patch of at least 2, got {spec.stem.patch}",
                        ("stem", "patch"), hint="conv4 halves the image once before its patch conv")


def _check_stage(spec: "Spec", i: int, stage: "Stage") -> Iterator[Violation]:
    at = ("stages", i)
    for j, group in enumerate(stage.groups):
        yield from _at_least_one(group.repeat, at + ("groups", j, "repeat"), "a repeat count")
    yield from _at_least_one(stage.dim, at + ("dim",), "dim")
    if stage.channel_ratio <= 0:
        yield Violation(E303, f"channel_ratio must be greater than 0, got {stage.channel_ratio:g}",
                        at + ("channel_ratio",))
    elif stage.dim >= 1 and stage.channel_hidden < 1:
        yield Violation(E305, f"channel_ratio {stage.channel_ratio:g} leaves the channel MLP with "
                        f"int({stage.dim}*{stage.channel_ratio:g}) = 0 hidden units", at + ("channel_ratio",))
    if stage.token_ratio is not None and stage.token_ratio <= 0:
        yield Violation(E303, f"token_ratio must be greater than 0, got {stage.token_ratio:g}",
                        at + ("token_ratio",))
    elif stage.token_hidden is not None and stage.tokens >= 1 and stage.token_hidden < 1:
        yield Violation(E305, f"token_ratio {stage.token_ratio:g} leaves the token-MLP with "
                        f"int({stage.tokens}*{stage.token_ratio:g}) = 0 hidden units", at + ("token_ratio",))
    if stage.layerscale is not None and stage.layerscale <= 0:
        yield Violation(E303, f"layerscale must be greater than 0, got {stage.layerscale:g}",
                        at + ("layerscale",), hint="write `layerscale off` to disable it")
    if STAGE_OPTIONS["heads"].applies(stage.kinds):
        yield from _check_heads(stage, at)
    non_conv = [k for k in stage.kinds if KINDS[k].mixer]
    if stage.shared and len(non_conv) != 1:
        found = "only conv blocks" if not non_conv else "kinds " + " and ".join(non_conv)
        yield Violation(E501, f"`shared` needs exactly one non-conv block kind in the stage; it has {found}",
                        at + ("shared",), hint="conv blocks have no spatial mixer to share")
    elif stage.shared and KINDS[non_conv[0]].parameter_free:
        yield Violation(E503, f"`shared` with {non_conv[0]} blocks shares nothing: {non_conv[0]} has no parameters",
                        at + ("shared",), hint="drop `shared`")
    if stage.has("shift") and stage.dim < 12:
        yield Violation(W104, f"shift moves dim // 12 = 0 channels at dim {stage.dim}: the mixer is the identity",
                        at + ("groups", next(j for j, g in enumerate(stage.groups) if g.kind == "shift")),
                        hint="shift needs dim >= 12", severity="warning")
    if not stage.cpe and stage.has("conv"):
        yield Violation(E502, "conv blocks with `cpe off` mix nothing spatially", at + ("cpe",),
                        hint="keep `cpe on` in stages with conv blocks, or use trans or mlp blocks")


def _check_heads(stage: "Stage", at: Path) -> Iterator[Violation]:
    if stage.heads is None:
        yield Violation(E405, "this stage has trans blocks but no `heads`", at + ("groups",),
                        hint="add `heads N` to the stage or to `defaults`")
        return
    if stage.heads < 1:
        yield from _at_least_one(stage.heads, at + ("heads",), "heads")
        return
    if stage.dim >= 1 and stage.dim % stage.heads:
        yield Violation(E404, f"heads {stage.heads} does not divide dim {stage.dim}", at + ("heads",),
                        hint=f"choose heads among {_divisors(stage.dim)}")
        return
    head_dim = stage.dim // stage.heads
    if head_dim > 256:
        yield Violation(W102, f"head_dim {head_dim} (dim {stage.dim} / heads {stage.heads}) is above 256",
                        at + ("heads",), hint="more heads usually train better", severity="warning")
    elif head_dim % 8:
        yield Violation(W101, f"head_dim {head_dim} (dim {stage.dim} / heads {stage.heads}) is not a "
                        "multiple of 8", at + ("heads",), hint="fused attention kernels prefer multiples of 8",
                        severity="warning")


def _divisors(n: int) -> str:
    small = [d for d in range(1, min(n, 64) + 1) if n % d == 0]
    return ", ".join(map(str, small[:8]))


def _check_geometry(spec: "Spec") -> Iterator[Violation]:
    """Every grid must be exact: the stem divides the input, every `down` halves evenly."""
    h, w = spec.input
    patch = spec.stem.patch
    if min(h, w) < 1 or patch < 1:
        return
    if h % patch or w % patch:
        yield Violation(E401, f"input {h}x{w} is not divisible by the stem's patch {patch}", ("input",),
                        hint=f"use an input that is a multiple of {patch}")
        return
    grid = stem_grid(spec.input, patch)
    for i in range(1, len(spec.stages)):
        if grid[0] % 2 or grid[1] % 2:
            yield Violation(E403, f"`down` needs a token grid with even sides; stage {i} ends with "
                            f"{grid[0]}x{grid[1]}", ("stages", i, "down"),
                            hint="use a larger input, a smaller patch or fewer stages")
            return
        grid = halve(grid)


def _check_derived(spec: "Spec") -> Iterator[Violation]:
    """Derived fields must be what the primary fields imply (matters for IR read from JSON)."""
    if any(v.code in (E401, E403) for v in _check_geometry(spec)) or spec.stem.patch < 1:
        return
    depth = sum(g.repeat for s in spec.stages for g in s.groups)
    rates = iter(drop_path_rates(spec.drop_path, depth, spec.drop_path_schedule))
    grid = stem_grid(spec.input, spec.stem.patch)
    for i, stage in enumerate(spec.stages):
        at = ("stages", i)
        if i:
            grid = halve(grid)
        expected = {
            "grid": grid,
            "channel_hidden": int(stage.dim * stage.channel_ratio),
            "token_hidden": int(grid[0] * grid[1] * stage.token_ratio) if stage.token_ratio is not None else None,
        }
        for field, value in expected.items():
            if getattr(stage, field) != value:
                yield Violation(E309, f"{field} is {getattr(stage, field)} but the spec implies {value}",
                                at + (field,))
        kinds = [g.kind for g in stage.groups for _ in range(g.repeat)]
        blocks = [(b.kind, b.drop_path) for b in stage.blocks]
        if blocks != [(k, next(rates)) for k in kinds]:
            yield Violation(E309, "blocks do not match the groups and drop_path", at + ("blocks",))
        for name, opt in STAGE_OPTIONS.items():  # options that cannot act are normalised to None
            if opt.scope != "stage" and getattr(stage, name) is not None and not opt.applies(stage.kinds):
                needed = "a spatial mixer" if opt.scope == "mixer" else " or ".join(opt.kinds) + " blocks"
                yield Violation(E309, f"{name} is set but the stage has no {needed}", at + (name,))
