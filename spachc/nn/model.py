"""The compiled network: a module tree that mirrors the IR one to one."""

from __future__ import annotations

from typing import Sequence

import torch
from torch import nn

from ..lang.ir import Spec, Stage
from ..lang.kinds import KINDS
from .features import OUTPUT_FORMATS, FeatureInfo, as_format, check_size, feature_units, run_units, take_indices
from .layers import LN_EPS, ConvStem, Downsample, MixingBlock, PatchStem, grid_to_tokens
from .mixers import make_mixer


class SpachStage(nn.Module):
    def __init__(self, stage: Stage, previous: Stage | None):
        super().__init__()
        self.downsample = Downsample(previous.dim, stage.dim) if previous is not None else None
        shared = make_mixer(stage, next(k for k in stage.kinds if KINDS[k].mixer)) if stage.shared else None
        self.blocks = nn.ModuleList(
            MixingBlock(stage.dim, stage.channel_hidden,
                        (shared if shared is not None else make_mixer(stage, b.kind)) if KINDS[b.kind].mixer else None,
                        stage.cpe, stage.layerscale, b.drop_path)
            for b in stage.blocks
        )

    def forward(self, x: torch.Tensor, grid: tuple[int, int]) -> tuple[torch.Tensor, tuple[int, int]]:
        """Tokens on the previous stage's grid -> this stage's tokens and grid."""
        if self.downsample is not None:
            x, grid = self.downsample(x, grid)
        for block in self.blocks:
            x = block(x, grid)
        return x, grid


class SpachNet(nn.Module):
    """images B×C×H×W -> logits B×classes. `forward_features` gives the final normalised
    tokens B×N×C for downstream heads."""

    def __init__(self, spec: Spec):
        super().__init__()
        self.spec = spec
        first, last = spec.stages[0], spec.stages[-1]
        if spec.stem.kind == "conv4":
            self.stem = ConvStem(spec.channels, first.dim, spec.stem.patch, spec.stem.hidden)
        else:
            self.stem = PatchStem(spec.channels, first.dim, spec.stem.patch)
        self.stem_norm = nn.LayerNorm(first.dim, eps=LN_EPS)
        self.stages = nn.ModuleList(
            SpachStage(stage, spec.stages[i - 1] if i else None) for i, stage in enumerate(spec.stages)
        )
        self.head_norm = nn.LayerNorm(last.dim, eps=LN_EPS)
        self.head = nn.Linear(last.dim, spec.classes)
        self.feature_info = FeatureInfo(feature_units(spec))  # timm's: every stage (or block of one stage)

    def forward_features(self, images: torch.Tensor) -> torch.Tensor:
        check_size(self.spec, images)  # a coded error for sizes the kinds cannot take
        stem = self.stem(images)
        grid = (stem.shape[-2], stem.shape[-1])  # from the input, so any size the kinds allow works
        x = self.stem_norm(grid_to_tokens(stem))
        for stage in self.stages:
            x, grid = stage(x, grid)
        return self.head_norm(x)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return self.head(self.forward_features(images).mean(dim=1))

    def forward_intermediates(self, images: torch.Tensor, indices: int | Sequence[int] | None = None,
                              norm: bool = False, stop_early: bool = False, output_fmt: str = "NCHW",
                              intermediates_only: bool = False):
        """timm's signature: the outputs of the chosen stages (blocks of a single-stage model),
        and, unless `intermediates_only`, the final normalised tokens of `forward_features`.
        `norm` applies the final LayerNorm to intermediates of the last stage (its width).
        `stop_early` is accepted for timm compatibility; with `intermediates_only` the blocks
        after the last chosen unit are always skipped."""
        if output_fmt not in OUTPUT_FORMATS:
            raise ValueError(f"output_fmt '{output_fmt}': choose one of {', '.join(OUTPUT_FORMATS)}")
        take = take_indices(len(self.feature_info), indices)
        # Stopping early is only sound when the final tokens are not returned.
        x, _, kept = run_units(self, self.spec, images, take, stop_early=intermediates_only)
        maps = [as_format(self.head_norm(t) if norm and self._in_last(i) else t, g, output_fmt)
                for i, (t, g) in zip(take, kept)]
        if intermediates_only:
            return maps
        return self.head_norm(x), maps

    def _in_last(self, unit: int) -> bool:
        return len(self.spec.stages) == 1 or unit == len(self.spec.stages) - 1

    def group_matcher(self, coarse: bool = False) -> dict:
        """timm's parameter grouping by depth, which layer decay reads (spachc/nn/groups.py)."""
        from .groups import group_matcher

        return group_matcher(coarse)


def init_weights(model: nn.Module) -> None:
    """The reference initialisation: xavier Linear, kaiming fan-out Conv2d, a zero head."""
    for m in model.modules():
        if isinstance(m, nn.Linear):
            nn.init.xavier_uniform_(m.weight)
            if m.bias is not None:
                nn.init.zeros_(m.bias)
        elif isinstance(m, nn.Conv2d):
            nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
            if m.bias is not None:
                nn.init.zeros_(m.bias)
        elif isinstance(m, (nn.LayerNorm, nn.GroupNorm, nn.BatchNorm2d)):
            nn.init.ones_(m.weight)
            nn.init.zeros_(m.bias)
    if isinstance(model, SpachNet):
        nn.init.zeros_(model.head.weight)
        nn.init.zeros_(model.head.bias)
