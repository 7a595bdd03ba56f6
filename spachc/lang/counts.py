"""Parameters and MACs, computed from the IR alone (no weights are allocated).

MACs follow SPACH.md: convolutions, linear layers and the two attention matmuls
(q·kᵀ and attn·v) at batch 1; norms, activations and softmax are not counted.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict

from .ir import Spec, Stage


class Cost(BaseModel):
    model_config = ConfigDict(frozen=True)
    params: int = 0
    macs: int = 0

    def __add__(self, other: "Cost") -> "Cost":
        return Cost(params=self.params + other.params, macs=self.macs + other.macs)


def _linear(n_in: int, n_out: int, tokens: int, bias: bool = True) -> Cost:
    return Cost(params=n_in * n_out + (n_out if bias else 0), macs=tokens * n_in * n_out)


def _conv(c_in: int, c_out: int, k: int, out_pixels: int, bias: bool, groups: int = 1) -> Cost:
    weights = c_out * (c_in // groups) * k * k
    return Cost(params=weights + (c_out if bias else 0), macs=out_pixels * weights)


def _norm(c: int) -> Cost:
    return Cost(params=2 * c)


def stem_cost(spec: Spec) -> Cost:
    stem, c_in, c0 = spec.stem, spec.channels, spec.stages[0].dim
    h, w = spec.input
    pixels_out = (h // stem.patch) * (w // stem.patch)
    if stem.kind == "conv1":
        cost = _conv(c_in, c0, stem.patch, pixels_out, bias=True)
    else:
        hid, half = stem.hidden, ((h + 1) // 2) * ((w + 1) // 2)
        cost = _conv(c_in, hid, 7, half, bias=False) + _norm(hid)
        for _ in range(2):
            cost = cost + _conv(hid, hid, 3, half, bias=False) + _norm(hid)
        cost = cost + _conv(hid, c0, stem.patch // 2, pixels_out, bias=True)
    return cost + _norm(c0)


def mixer_cost(stage: Stage, kind: str) -> Cost:
    c, n = stage.dim, stage.tokens
    if kind == "trans":
        attention = Cost(macs=2 * n * n * c)  # q·kᵀ and attn·v over all heads
        return _linear(c, 3 * c, n, bias=bool(stage.qkv_bias)) + attention + _linear(c, c, n)
    if kind == "mlp":  # token mixing: for each of the c channels, N -> hidden -> N
        fc = _linear(n, stage.token_hidden, 1) + _linear(stage.token_hidden, n, 1)
        return Cost(params=fc.params, macs=fc.macs * c)
    return Cost()


def block_cost(stage: Stage, kind: str, count_mixer: bool = True) -> Cost:
    c, n = stage.dim, stage.tokens
    cost = _norm(c) + _linear(c, stage.channel_hidden, n) + _linear(stage.channel_hidden, c, n)
    if stage.cpe:
        cost = cost + _conv(c, c, 3, n, bias=True, groups=c)
    if kind != "conv":
        cost = cost + _norm(c) + (Cost(params=c) if stage.layerscale is not None else Cost())
        mixer = mixer_cost(stage, kind)
        cost = cost + (mixer if count_mixer else Cost(macs=mixer.macs))
    return cost


def downsample_cost(previous: Stage, stage: Stage) -> Cost:
    return _conv(previous.dim, stage.dim, 2, stage.tokens, bias=False) + _norm(stage.dim)


def stage_cost(spec: Spec, index: int) -> Cost:
    stage = spec.stages[index]
    cost = downsample_cost(spec.stages[index - 1], stage) if index else Cost()
    seen_mixer = False
    for block in stage.blocks:
        first_use = not (stage.shared and seen_mixer and block.kind != "conv")
        cost = cost + block_cost(stage, block.kind, count_mixer=first_use)
        seen_mixer = seen_mixer or block.kind != "conv"
    return cost


def head_cost(spec: Spec) -> Cost:
    c = spec.stages[-1].dim
    return _norm(c) + _linear(c, spec.classes, 1)


def total_cost(spec: Spec) -> Cost:
    cost = stem_cost(spec) + head_cost(spec)
    for i in range(len(spec.stages)):
        cost = cost + stage_cost(spec, i)
    return cost
