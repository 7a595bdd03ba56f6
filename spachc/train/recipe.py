"""Training recipes as one validated config: `spach` (the paper's) and `quick` (small data).

Every field is a CLI flag (`--warmup-epochs 5`) and the resolved recipe is saved with
the run, so a run can be resumed and reproduced from its folder alone.
"""

from __future__ import annotations

import json
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from ..lang.diagnostics import Diagnostic, UserError, warning_at

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
    amp: AmpMode = Field("auto", description="mixed precision: auto = bf16 on CUDA, off on CPU")
    seed: int = Field(0, ge=0, description="seed of everything random in the run")

    @field_validator("crop_scale", "crop_ratio")
    @classmethod
    def _ordered_range(cls, value: tuple[float, float], info) -> tuple[float, float]:
        low, high = value
        if not 0 < low <= high:
            raise ValueError(f"expected 0 < min <= max, got {low:g},{high:g}")
        if info.field_name == "crop_scale" and high > 1:
            raise ValueError(f"an area fraction is at most 1, got {high:g}")
        return value

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


class RecipeError(UserError):
    """A recipe value that is out of range, named with the flag that set it."""

    code = "E1002"


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


def fit_to_run(recipe: Recipe, name: str, given: set[str]) -> tuple[Recipe, Diagnostic | None]:
    """A warm-up and cool-down that take the whole run leave no epoch at the peak learning
    rate (the spach recipe's 20 + 10 epochs in a 5-epoch run never pass 2.6e-5). When the
    user set neither, both shrink to the named recipe's proportions of its own length;
    when they set them, they are kept and a warning says so."""
    if recipe.warmup_epochs + recipe.cooldown_epochs < recipe.epochs:
        return recipe, None
    said = (f"warm-up {recipe.warmup_epochs:g} + cool-down {recipe.cooldown_epochs:g} epochs take the whole "
            f"{recipe.epochs}-epoch run")
    if given & {"warmup_epochs", "cooldown_epochs"}:
        return recipe, warning_at("W1001", said + ", so the learning rate never holds its peak", None,
                                  hint="lower --warmup-epochs / --cooldown-epochs, or raise --epochs")
    base = RECIPES[name]
    scale = recipe.epochs / base.epochs
    fitted = recipe.model_copy(update={"warmup_epochs": round(base.warmup_epochs * scale, 3),
                                       "cooldown_epochs": round(base.cooldown_epochs * scale, 3)})
    return fitted, warning_at(
        "W1001", f"{said}: scaled to {fitted.warmup_epochs:g} + {fitted.cooldown_epochs:g} (the {name} recipe's "
        f"proportions of {base.epochs} epochs)", None, hint="set --warmup-epochs / --cooldown-epochs to choose")


def recipe_from_json(text: str) -> Recipe:
    return Recipe.model_validate(json.loads(text))
