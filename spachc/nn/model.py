"""The compiled network: a module tree that mirrors the IR one to one."""

from __future__ import annotations

from dataclasses import replace
from typing import Sequence

import torch
from torch import nn
from torch.utils.checkpoint import checkpoint

from ..lang.ir import Spec, Stage
from ..lang.kinds import KINDS
from .contract import TimmContract, check_global_pool, check_num_classes, with_classes
from .features import OUTPUT_FORMATS, FeatureInfo, as_format, check_size, feature_units, run_units, take_indices
from .layers import LN_EPS, ConvStem, Downsample, MixingBlock, PatchStem, grid_to_tokens, tokens_to_grid
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
        self.grad_checkpointing = False  # set by the model's set_grad_checkpointing

    def forward(self, x: torch.Tensor, grid: tuple[int, int]) -> tuple[torch.Tensor, tuple[int, int]]:
        """Tokens on the previous stage's grid -> this stage's tokens and grid."""
        if self.downsample is not None:
            x, grid = self.downsample(x, grid)
        for block in self.blocks:
            x = self.run_block(block, x, grid)
        return x, grid

    def run_block(self, block: MixingBlock, x: torch.Tensor, grid: tuple[int, int]) -> torch.Tensor:
        """One of this stage's blocks; under grad checkpointing its activations are recomputed
        in the backward pass rather than kept (every path through the blocks calls this)."""
        if self.grad_checkpointing and torch.is_grad_enabled():
            return checkpoint(block, x, grid, use_reentrant=False)
        return block(x, grid)


class SpachNet(TimmContract, nn.Module):
    """images B×C×H×W -> logits B×classes. `forward_features` gives the final normalised
    tokens B×N×C for downstream heads, `forward_head` turns them into logits (or pooled
    features). timm's model contract (spachc.nn.contract): `num_classes`, `num_features`,
    `head_hidden_size`, `pretrained_cfg`, `get_classifier`, `reset_classifier`,
    `set_grad_checkpointing`."""

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
        self.num_classes = spec.classes  # 0 once reset_classifier(0) removed the head
        self.num_features = self.head_hidden_size = last.dim  # no pre-logits layer: both are the width
        self.global_pool = "avg"
        self.grad_checkpointing = False
        self.pretrained_cfg = {}  # the spec's defaults; a loader assigns what the file recorded

    def forward_features(self, images: torch.Tensor) -> torch.Tensor:
        return self._final_tokens(images)[0]

    def _final_tokens(self, images: torch.Tensor) -> tuple[torch.Tensor, tuple[int, int]]:
        check_size(self.spec, images)  # a coded error for sizes the kinds cannot take
        stem = self.stem(images)
        grid = (stem.shape[-2], stem.shape[-1])  # from the input, so any size the kinds allow works
        x = self.stem_norm(grid_to_tokens(stem))
        for stage in self.stages:
            x, grid = stage(x, grid)
        return self.head_norm(x), grid

    def forward_head(self, x: torch.Tensor, pre_logits: bool = False) -> torch.Tensor:
        """Features -> logits. `x` is forward_features' B×N×C tokens (or B×C×H×W maps). With
        global_pool 'avg' they are averaged first; with '' the head applies at every position
        and the layout is kept. `pre_logits=True` stops before the head (pooled features)."""
        if self.global_pool == "avg":
            x = x.mean(dim=1) if x.ndim == 3 else x.mean(dim=(2, 3))
        if pre_logits:
            return x
        if x.ndim == 4:  # unpooled maps: the head is a per-position linear map over channels
            return self.head(x.permute(0, 2, 3, 1)).permute(0, 3, 1, 2)
        return self.head(x)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        if self.global_pool == "":  # timm's "no pooling": B×C×H×W maps (C = classes, or features)
            tokens, grid = self._final_tokens(images)
            return self.forward_head(tokens_to_grid(tokens, grid))
        return self.forward_head(self.forward_features(images))

    def get_classifier(self) -> nn.Module:
        return self.head

    def reset_classifier(self, num_classes: int, global_pool: str | None = None) -> None:
        """A fresh head for `num_classes` (initialised as build does: zero), or none for 0
        (forward then gives pooled features). `global_pool` '' keeps the tokens as B×C×H×W
        maps, 'avg' pools them, None leaves it. `spec` follows: it is rebuilt with the new class
        count (as `--set classes=N` would), so a saved model records the right spec and hash;
        a headless model keeps its last spec (a spec always has a classifier). Recorded label
        names are dropped (from pretrained_cfg and model_info): they named the old head's classes."""
        num_classes = check_num_classes(num_classes)
        check_global_pool(global_pool)
        spec = with_classes(self.spec, num_classes) if num_classes else self.spec  # checked before any change
        self.global_pool = self.global_pool if global_pool is None else global_pool
        like = self.head_norm.weight
        if num_classes:
            self.spec = spec
            self.head = init_head(nn.Linear(self.num_features, num_classes, device=like.device, dtype=like.dtype))
        else:
            self.head = nn.Identity()
        self.num_classes = num_classes
        self.pretrained_cfg = {**{k: v for k, v in self.pretrained_cfg.items() if k != "label_names"},
                               "num_classes": num_classes}
        if getattr(self, "model_info", None) is not None:  # what a loader attached (spachc.model_io)
            self.model_info = replace(self.model_info, labels=None)

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
    if isinstance(model, SpachNet) and isinstance(model.head, nn.Linear):
        init_head(model.head)


def init_head(head: nn.Linear) -> nn.Linear:
    """The reference's classifier initialisation: all zeros (logits start uniform)."""
    nn.init.zeros_(head.weight)
    nn.init.zeros_(head.bias)
    return head
