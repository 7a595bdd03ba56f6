"""Token grids that follow the input's H×W, for exporting a graph whose size is truly dynamic.

SpachNet fixes each stage's token grid at build time (`tokens_to_grid` reshapes to ints
from the spec). Exported as is, those ints become constants and silently pin H×W. This
wrapper sets every grid from the input's shape before running the unchanged network, so
`torch.export` traces them as symbols: the stem grid follows the stem's convolutions'
own size arithmetic, and each `down` floors it by two, as its stride-2 conv does. The
model's numerics are untouched.
"""

from __future__ import annotations

from contextlib import contextmanager

import torch
from torch import nn

from ..nn.layers import Downsample, PositionalConv
from ..nn.model import SpachNet


def grid_sites(net: SpachNet) -> list[tuple[nn.Module, str, int]]:
    """(module, attribute, level) for every module holding a grid; level = downsamplings before it."""
    sites = []
    for level, stage in enumerate(net.stages):
        for module in stage.modules():
            if isinstance(module, PositionalConv):
                sites.append((module, "grid", level))
            elif isinstance(module, Downsample):
                sites.append((module, "grid_in", level - 1))
    return sites


class InputSizedGrids(nn.Module):
    """`net` with its token grids computed from each input's spatial size."""

    def __init__(self, net: SpachNet):
        super().__init__()
        if any(stage.has("mlp") for stage in net.spec.stages):
            raise ValueError("a token-MLP's weights fix the token count; such a network has no dynamic size")
        self.net = net
        self._stem_convs = [m for m in net.stem.modules() if isinstance(m, nn.Conv2d)]
        self._sites = grid_sites(net)
        expected = sum(len(s.blocks) for s in net.spec.stages if s.cpe) + len(net.spec.stages) - 1
        if len(self._sites) != expected:  # a layer that keeps its grid elsewhere would pin H×W
            raise RuntimeError(f"found {len(self._sites)} grid-holding modules, the spec implies {expected}: "
                               "update spachc.export.dynamic_grid.grid_sites for the new layers")

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        h, w = images.shape[-2], images.shape[-1]
        for conv in self._stem_convs:  # the stem is a chain of convolutions
            h, w = conv_output(h, conv, 0), conv_output(w, conv, 1)
        for module, attribute, level in self._sites:
            setattr(module, attribute, (h // 2**level, w // 2**level))
        return self.net(images)


def conv_output(size, conv: nn.Conv2d, axis: int):
    """Conv2d's output length along `axis` for an input of length `size`."""
    span = conv.dilation[axis] * (conv.kernel_size[axis] - 1) + 1
    return (size + 2 * conv.padding[axis] - span) // conv.stride[axis] + 1


@contextmanager
def grids_restored(net: SpachNet):
    """Put the build-time grids back however the block exits."""
    saved = [(module, attribute, getattr(module, attribute)) for module, attribute, _ in grid_sites(net)]
    try:
        yield
    finally:
        for module, attribute, value in saved:
            setattr(module, attribute, value)
