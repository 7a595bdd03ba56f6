"""IR -> torch module."""

from __future__ import annotations

import torch

from ..lang.ir import Spec
from ..lang.limits import DEFAULT_MAX_PARAMS, check_params
from .model import SpachNet, init_weights


def build(spec: Spec, *, max_params: int = DEFAULT_MAX_PARAMS, device: str | torch.device | None = None) -> SpachNet:
    """Compile a Spec into a freshly initialised SpachNet (refusing absurd sizes first)."""
    check_params(spec, max_params)
    with torch.device(device or "cpu"):
        model = SpachNet(spec)
    init_weights(model)
    return model


def skeleton(spec: Spec) -> SpachNet:
    """The module tree on the meta device: names and shapes, no memory."""
    with torch.device("meta"):
        return SpachNet(spec)
