"""Parameters and MACs, computed from the IR alone (no weights are allocated).

MACs follow SPACH.md: convolutions, linear layers and the two attention matmuls
(q·kᵀ and attn·v) at batch 1; norms, activations, pooling, shifts and softmax are not
counted. Each mixer's formula is stated once, in its kind's registry entry (kinds.py).
"""

from __future__ import annotations

from .cost import Cost, conv, linear, norm
from .ir import Spec, Stage
from .kinds import KINDS

__all__ = ["Cost", "block_cost", "downsample_cost", "head_cost", "mixer_cost", "stage_cost", "stem_cost", "total_cost"]


def stem_cost(spec: Spec) -> Cost:
    stem, c_in, c0 = spec.stem, spec.channels, spec.stages[0].dim
    h, w = spec.input
    pixels_out = (h // stem.patch) * (w // stem.patch)
    if stem.kind == "conv1":
        cost = conv(c_in, c0, stem.patch, pixels_out, bias=True)
    else:
        hid, half = stem.hidden, ((h + 1) // 2) * ((w + 1) // 2)
        cost = conv(c_in, hid, 7, half, bias=False) + norm(hid)
        for _ in range(2):
            cost = cost + conv(hid, hid, 3, half, bias=False) + norm(hid)
        cost = cost + conv(hid, c0, stem.patch // 2, pixels_out, bias=True)
    return cost + norm(c0)


def mixer_cost(stage: Stage, kind: str) -> Cost:
    """The spatial mixer of one block, as the kind registry (kinds.py) counts it."""
    return KINDS[kind].cost(stage)


def block_cost(stage: Stage, kind: str, count_mixer: bool = True) -> Cost:
    c, n = stage.dim, stage.tokens
    cost = norm(c) + linear(c, stage.channel_hidden, n) + linear(stage.channel_hidden, c, n)
    if stage.cpe:
        cost = cost + conv(c, c, 3, n, bias=True, groups=c)
    if KINDS[kind].mixer:
        cost = cost + norm(c) + (Cost(params=c) if stage.layerscale is not None else Cost())
        mixer = mixer_cost(stage, kind)
        cost = cost + (mixer if count_mixer else Cost(macs=mixer.macs))
    return cost


def downsample_cost(previous: Stage, stage: Stage) -> Cost:
    return conv(previous.dim, stage.dim, 2, stage.tokens, bias=False) + norm(stage.dim)


def stage_cost(spec: Spec, index: int) -> Cost:
    stage = spec.stages[index]
    cost = downsample_cost(spec.stages[index - 1], stage) if index else Cost()
    seen_mixer = False
    for block in stage.blocks:
        has_mixer = KINDS[block.kind].mixer
        first_use = not (stage.shared and seen_mixer and has_mixer)
        cost = cost + block_cost(stage, block.kind, count_mixer=first_use)
        seen_mixer = seen_mixer or has_mixer
    return cost


def head_cost(spec: Spec) -> Cost:
    c = spec.stages[-1].dim
    return norm(c) + linear(c, spec.classes, 1)


def total_cost(spec: Spec) -> Cost:
    cost = stem_cost(spec) + head_cost(spec)
    for i in range(len(spec.stages)):
        cost = cost + stage_cost(spec, i)
    return cost
