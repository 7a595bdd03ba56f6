"""Which input sizes a compiled spec accepts, decided from the IR alone (no torch).

The token grid is computed from each input at run time, so a spec runs at any height and
width that its stem and downsamples divide exactly: multiples of the total stride
(patch × 2^(stages-1)), non-square included. Grid-tied kinds (`grid_tied` in the kind
registry: mlp, smlp) are the exception: their weights are sized for exactly the spec's token
grid, so a spec with one accepts only its own input size. Refusals are coded diagnostics that
say why.
"""

from __future__ import annotations

from ..diagnostics import Diagnostic, SpecError, error_at
from .ir import Spec
from .kinds import KINDS


def total_stride(spec: Spec) -> int:
    """Input pixels per token of the last stage, along each axis."""
    return spec.stem.patch * 2 ** (len(spec.stages) - 1)


def tied_stages(spec: Spec) -> list[tuple[int, str]]:
    """(1-based stage number, kind) for each stage with grid-tied blocks (its first such kind)."""
    tied = []
    for i, stage in enumerate(spec.stages):
        kinds = [k for k in stage.kinds if KINDS[k].grid_tied]
        if kinds:
            tied.append((i + 1, kinds[0]))
    return tied


def any_size(spec: Spec) -> bool:
    """True when the spec runs at every multiple of its total stride."""
    return not tied_stages(spec)


def input_problem(spec: Spec, shape: tuple[int, ...]) -> Diagnostic | None:
    """Why a B×C×H×W input of this shape cannot go through the spec, or None."""
    size = f"{spec.input[0]}x{spec.input[1]}"
    if len(shape) != 4:
        return error_at("E1203", f"{spec.name} takes images B×C×H×W, got a tensor of shape {tuple(shape)}", None,
                        hint=f"batch the images: shape (B, {spec.channels}, {spec.input[0]}, {spec.input[1]})")
    _, channels, h, w = shape
    if channels != spec.channels:
        return error_at("E1203", f"{spec.name} takes {spec.channels}-channel images, got {channels} channels", None,
                        hint="convert the images, or build the spec with --set \"input=... channels N\"")
    if (h, w) == tuple(spec.input):
        return None
    tied = tied_stages(spec)
    if tied:
        index, kind = tied[0]
        stage = spec.stages[index - 1]
        others = ", ".join(k for k, v in KINDS.items() if not v.grid_tied)
        return error_at(
            "E1201", f"{spec.name} accepts only {size} input, not {h}x{w}: stage {index} has {kind} blocks, whose "
            f"weights are sized for exactly {stage.tokens} tokens ({stage.grid[0]}x{stage.grid[1]})", None,
            hint=f"resize the images to {size}, or use kinds that are not tied to the grid ({others}) "
                 "for other sizes")
    stride = total_stride(spec)
    if h % stride or w % stride or h < stride or w < stride:
        down_h, down_w = max(stride, h // stride * stride), max(stride, w // stride * stride)
        return error_at(
            "E1202", f"{spec.name} needs height and width that are multiples of its total stride {stride} "
            f"(patch {spec.stem.patch} x 2^{len(spec.stages) - 1} downsamples), got {h}x{w}", None,
            hint=f"crop or resize to e.g. {down_h}x{down_w}")
    return None


def check_input(spec: Spec, shape: tuple[int, ...]) -> None:
    problem = input_problem(spec, shape)
    if problem is not None:
        raise SpecError([problem])
