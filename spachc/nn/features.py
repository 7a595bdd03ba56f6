"""Multi-scale features for detection and segmentation heads, with timm's names so code
written for timm backbones works unchanged:

    model = spachc.build(spec, features_only=True, out_indices=(0, 1, 2, 3))
    maps = model(images)                      # list of B×C×H×W, one per chosen stage
    model.feature_info.channels()             # [64, 128, 256, 512]
    model.feature_info.reduction()            # [4, 8, 16, 32]

    classifier = spachc.build(spec)
    final, maps = classifier.forward_intermediates(images)

A "feature unit" is a stage; a single-stage model (isotropic, like ViT) has one unit per
block instead, all at stride = patch. Features are the stage (block) outputs of the
classifier's own forward pass, computed by the same module calls in the same order, so they
equal the classifier path's intermediate activations exactly.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import torch
from torch import nn

from ..lang.ir import Spec
from ..lang.sizes import check_input
from .contract import TimmContract
from .layers import grid_to_tokens, tokens_to_grid

OUTPUT_FORMATS = ("NCHW", "NLC")


@dataclass(frozen=True)
class FeatureUnit:
    num_chs: int
    reduction: int
    module: str
    index: int


def feature_units(spec: Spec) -> list[FeatureUnit]:
    """Stages (or, for one stage, its blocks), with their channels, stride and module name."""
    patch = spec.stem.patch
    if len(spec.stages) == 1:
        stage = spec.stages[0]
        return [FeatureUnit(stage.dim, patch, f"stages.0.blocks.{j}", j) for j in range(len(stage.blocks))]
    return [FeatureUnit(stage.dim, patch * 2 ** i, f"stages.{i}", i) for i, stage in enumerate(spec.stages)]


def take_indices(count: int, indices: int | Sequence[int] | None) -> list[int]:
    """timm's rule: None -> all units, an int n -> the last n, a sequence -> those (negative
    counts from the end). Sorted, without repeats."""
    if indices is None:
        return list(range(count))
    if isinstance(indices, int):
        if not 0 < indices <= count:
            raise ValueError(f"indices={indices}: take the last n units with 1 <= n <= {count}")
        return list(range(count - indices, count))
    chosen = []
    for i in indices:
        if not -count <= int(i) < count:
            raise ValueError(f"index {i} is out of range: this model has {count} feature units (0..{count - 1})")
        chosen.append(int(i) % count)
    if not chosen:
        raise ValueError("no feature units chosen: give at least one index")
    return sorted(set(chosen))


class FeatureInfo:
    """timm's FeatureInfo: one dict per output map (num_chs, reduction, module, index).
    `out_indices` are the units' indices in the whole model; an `idx` given to `get` and the
    other getters is a position among this object's maps (for a features model, the
    position in its output list)."""

    def __init__(self, units: Sequence[FeatureUnit]):
        self.info = [dict(num_chs=u.num_chs, reduction=u.reduction, module=u.module, index=u.index) for u in units]
        self.out_indices = tuple(u.index for u in units)

    def get(self, key: str, idx=None):
        """timm's FeatureInfo.get: `key` of every map (idx None), of the maps at positions
        `idx` (a sequence), or of one map (an int)."""
        return self._get(key, idx)

    def _get(self, key: str, idx):
        if idx is None:
            return [f[key] for f in self.info]
        if isinstance(idx, (tuple, list)):
            return [self.info[i][key] for i in idx]
        return self.info[idx][key]

    def channels(self, idx=None):
        return self._get("num_chs", idx)

    def reduction(self, idx=None):
        return self._get("reduction", idx)

    def module_name(self, idx=None):
        return self._get("module", idx)

    def get_dicts(self):
        return [dict(f) for f in self.info]

    def __getitem__(self, item):
        return self.info[item]

    def __len__(self) -> int:
        return len(self.info)

    def __iter__(self):
        return iter(self.info)

    def __repr__(self) -> str:
        return f"FeatureInfo({self.info})"


def run_units(net: nn.Module, spec: Spec, images: torch.Tensor, take: Sequence[int], stop_early: bool = False):
    """Run stem and stages as the classifier does, keeping the outputs of units in `take`.
    Returns (final tokens, their grid, [(tokens, grid) per taken unit])."""
    check_size(spec, images)
    stem = net.stem(images)
    grid = (stem.shape[-2], stem.shape[-1])
    x = net.stem_norm(grid_to_tokens(stem))
    wanted, last = set(take), max(take)
    kept = []
    if len(spec.stages) == 1:
        stage = net.stages[0]
        for j, block in enumerate(stage.blocks):
            x = stage.run_block(block, x, grid)
            if j in wanted:
                kept.append((x, grid))
            if stop_early and j == last:
                break
    else:
        for i, stage in enumerate(net.stages):
            x, grid = stage(x, grid)
            if i in wanted:
                kept.append((x, grid))
            if stop_early and i == last:
                break
    return x, grid, kept


def check_size(spec: Spec, images: torch.Tensor) -> None:
    """Refuse, with a coded error, inputs the spec cannot take (skipped while torch.export
    traces symbolic sizes: the exporter enforces those)."""
    shape = tuple(images.shape)
    if all(isinstance(d, int) for d in shape):
        check_input(spec, shape)


def as_format(tokens: torch.Tensor, grid: tuple[int, int], output_fmt: str) -> torch.Tensor:
    return tokens if output_fmt == "NLC" else tokens_to_grid(tokens, grid)


class SpachFeatures(TimmContract, nn.Module):
    """The backbone without its head: images -> a list of NCHW maps, one per out_index.
    Its parameters are the classifier's with `head` and `head_norm` left out, under the same
    names, so a classifier's weights load with `load_classifier_state`. Like timm's features
    models it has `feature_info`, `output_fmt`, `pretrained_cfg` and `set_grad_checkpointing`."""

    output_fmt = "NCHW"  # the layout of every map forward returns (timm's attribute)

    def __init__(self, net: nn.Module, out_indices: int | Sequence[int] | None = None):
        super().__init__()
        self.spec = net.spec
        units = feature_units(self.spec)
        self.out_indices = tuple(take_indices(len(units), out_indices))
        self.stem, self.stem_norm, self.stages = net.stem, net.stem_norm, net.stages
        self.feature_info = FeatureInfo([units[i] for i in self.out_indices])
        self.grad_checkpointing = getattr(net, "grad_checkpointing", False)
        self.pretrained_cfg = dict(getattr(net, "pretrained_cfg", {}))

    def forward(self, images: torch.Tensor) -> list[torch.Tensor]:
        _, _, kept = run_units(self, self.spec, images, self.out_indices, stop_early=True)
        return [tokens_to_grid(x, grid) for x, grid in kept]

    def load_classifier_state(self, state: dict[str, torch.Tensor]) -> None:
        """Load a classifier's state_dict, ignoring its head."""
        mine = {k: v for k, v in state.items() if not k.startswith(("head.", "head_norm."))}
        self.load_state_dict(mine, strict=True)
