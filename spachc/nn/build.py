"""IR -> torch module."""

from __future__ import annotations

from typing import Sequence

import torch

from ..lang.ir import Spec
from ..lang.limits import DEFAULT_MAX_PARAMS, check_params
from .contract import check_global_pool, check_num_classes, with_classes
from .features import SpachFeatures
from .model import SpachNet, init_weights


def build(spec: Spec, *, max_params: int = DEFAULT_MAX_PARAMS, device: str | torch.device | None = None,
          features_only: bool = False, out_indices: int | Sequence[int] | None = None,
          num_classes: int | None = None, global_pool: str | None = None) -> SpachNet | SpachFeatures:
    """Compile a Spec into a freshly initialised SpachNet (refusing absurd sizes first).
    `features_only=True` gives the backbone without its head, returning one NCHW map per
    chosen stage (`out_indices`, timm's convention; default all), see spachc.nn.features.
    `num_classes` and `global_pool` are timm's: the model is the one `reset_classifier` would
    give, but the spec carries N classes from the start (0: no head, the spec's own count kept)."""
    check_global_pool(global_pool)
    if num_classes is not None and check_num_classes(num_classes):
        spec = with_classes(spec, num_classes)
    check_params(spec, max_params)
    with torch.device(device or "cpu"):
        model = SpachNet(spec)
    init_weights(model)
    if features_only:
        return SpachFeatures(model, out_indices)
    if out_indices is not None:
        raise ValueError("out_indices is for features_only=True; a classifier takes indices in forward_intermediates")
    if num_classes == 0:
        model.reset_classifier(0)
    if global_pool is not None:
        model.global_pool = global_pool
    return model


def skeleton(spec: Spec) -> SpachNet:
    """The module tree on the meta device: names and shapes, no memory."""
    with torch.device("meta"):
        return SpachNet(spec)
