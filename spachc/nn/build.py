"""IR -> torch module."""

from __future__ import annotations

from typing import Sequence

import torch

from ..lang.ir import Spec
from ..lang.limits import DEFAULT_MAX_PARAMS, check_params
from .features import SpachFeatures
from .model import SpachNet, init_weights


def build(spec: Spec, *, max_params: int = DEFAULT_MAX_PARAMS, device: str | torch.device | None = None,
          features_only: bool = False, out_indices: int | Sequence[int] | None = None) -> SpachNet | SpachFeatures:
    """Compile a Spec into a freshly initialised SpachNet (refusing absurd sizes first).
    `features_only=True` gives the backbone without its head, returning one NCHW map per
    chosen stage (`out_indices`, timm's convention; default all), see spachc.nn.features."""
    check_params(spec, max_params)
    with torch.device(device or "cpu"):
        model = SpachNet(spec)
    init_weights(model)
    if features_only:
        return SpachFeatures(model, out_indices)
    if out_indices is not None:
        raise ValueError("out_indices is for features_only=True; a classifier takes indices in forward_intermediates")
    return model


def skeleton(spec: Spec) -> SpachNet:
    """The module tree on the meta device: names and shapes, no memory."""
    with torch.device("meta"):
        return SpachNet(spec)
