"""Training recipes as one validated config: `spach` (the paper's) and `quick` (small data).

Every field is a CLI flag (`--warmup-epochs 5`) and the resolved recipe is saved with
the run, so a run can be resumed and reproduced from its folder alone.
"""

from __future__ import annotations

import json
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

AmpMode = Literal["auto", "bf16", "fp16", "off"]


class Recipe(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    epochs: int = Field(300, ge=1, description="epochs of the schedule (warm-up and cool-down included)")
    batch_size: int = Field(128, ge=1, description="images per process per step")
    lr: float | None = Field(None, gt=0, description="peak learning rate; default base_lr x total batch / lr_batch")
    base_lr: float = Field(5e-4, gt=0, description="learning rate for a total batch of lr_batch")
    lr_batch: int = Field(512, ge=1, description="total batch that base_lr is quoted for")
    min_lr: float = Field(1e-5, ge=0, description="floor of the cosine schedule")
    warmup_epochs: float = Field(20, ge=0, description="linear warm-up from warmup_lr to the peak")
    warmup_lr: float = Field(1e-6, ge=0, description="learning rate at the first step")
    cooldown_epochs: float = Field(10, ge=0, description="final epochs held at min_lr")
    weight_decay: float = Field(0.05, ge=0, description="AdamW decay of weights (not of norms, biases, scales)")
    betas: tuple[float, float] = Field((0.9, 0.999), description="AdamW betas")
    clip_grad: float | None = Field(None, gt=0, description="max gradient norm; none = no clipping")
    label_smoothing: float = Field(0.1, ge=0, lt=1, description="label smoothing of the targets")
    mixup: float = Field(0.8, ge=0, description="Mixup alpha; 0 = off")
    cutmix: float = Field(1.0, ge=0, description="CutMix alpha; 0 = off")
    mix_prob: float = Field(1.0, ge=0, le=1, description="probability a batch is mixed at all")
    switch_prob: float = Field(0.5, ge=0, le=1, description="probability of CutMix rather than Mixup")
    randaugment: str = Field("rand-m9-mstd0.5-inc1", description="RandAugment policy (timm syntax) or 'off'")
    hflip: float = Field(0.5, ge=0, le=1, description="probability of a horizontal flip")
    crop_scale: tuple[float, float] = Field((0.08, 1.0), description="RandomResizedCrop area range")
    crop_ratio: tuple[float, float] = Field((3 / 4, 4 / 3), description="RandomResizedCrop aspect range")
    reprob: float = Field(0.25, ge=0, le=1, description="random erasing probability (per-pixel noise)")
    repeated_aug: int = Field(3, ge=1, description="repeated augmentation: copies of each image per epoch across ranks")
    eval_crop: float = Field(0.875, gt=0, le=1, description="eval: resize to input/eval_crop, centre-crop input")
    drop_path: float | None = Field(None, ge=0, lt=1, description="stochastic depth; none = the spec's drop_path")
    ema_decay: float | None = Field(0.99996, gt=0, lt=1, description="EMA of weights per step; none = off")
    amp: AmpMode = Field("auto", description="mixed precision: auto = bf16 on CUDA (capability 8+) and on CPUs with AMX/AVX-512 bf16 for steps of 1+ GMACs, else off")
    seed: int = Field(0, ge=0, description="seed of everything random in the run")

    def peak_lr(self, total_batch: int) -> float:
        return self.lr if self.lr is not None else self.base_lr * total_batch / self.lr_batch

    def to_json(self) -> str:
        return self.model_dump_json(indent=2)


SPACH = Recipe()

QUICK = Recipe(
    epochs=30, batch_size=64, lr=2e-3, min_lr=1e-5, warmup_epochs=2, warmup_lr=1e-5, cooldown_epochs=0,
    weight_decay=0.05, label_smoothing=0.1, mixup=0.0, cutmix=0.0, mix_prob=0.0, randaugment="off",
    hflip=0.0, crop_scale=(0.6, 1.0), reprob=0.0, repeated_aug=1, ema_decay=None,
)

RECIPES = {"spach": SPACH, "quick": QUICK}


class RecipeError(ValueError):
    """A recipe value that is out of range, named with the flag that set it."""


def flag(field: str) -> str:
    return "--" + field.replace("_", "-")


def resolve_recipe(name: str, overrides: dict[str, object]) -> Recipe:
    """The named recipe with the flags the user gave (None = not given)."""
    if name not in RECIPES:
        raise RecipeError(f"unknown recipe '{name}'; choose one of: {', '.join(RECIPES)}")
    given = {k: v for k, v in overrides.items() if v is not None}
    try:
        return RECIPES[name].model_copy(update={}).model_validate({**RECIPES[name].model_dump(), **given})
    except ValidationError as exc:
        problems = "; ".join(f"{flag(str(e['loc'][0]))}: {e['msg']}" for e in exc.errors())
        raise RecipeError(f"invalid training recipe: {problems}") from None


def recipe_from_json(text: str) -> Recipe:
    return Recipe.model_validate(json.loads(text))
