"""Training recipes as one validated config: `spach` (the paper's), `quick` (small data) and
`finetune` (small data, from trained weights: `--init`).

Every field is a CLI flag (`--warmup-epochs 5`) and the resolved recipe is saved with
the run, so a run can be resumed and reproduced from its folder alone.
"""

from __future__ import annotations

import json
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from ..diagnostics import Diagnostic, UserError, warning_at

AmpMode = Literal["auto", "bf16", "fp16", "off"]


class Recipe(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    epochs: int = Field(300, ge=1, description="all epochs, warm-up included")
    batch_size: int = Field(128, ge=1, description="images per process per step")
    lr: float | None = Field(None, gt=0, description="peak lr (none: from base_lr)")
    base_lr: float = Field(5e-4, gt=0, description="lr for a total batch of lr_batch")
    lr_batch: int = Field(512, ge=1, description="total batch of base_lr")
    min_lr: float = Field(1e-5, ge=0, description="floor of the cosine schedule")
    warmup_epochs: float = Field(20, ge=0, description="linear warm-up to the peak lr")
    warmup_lr: float = Field(1e-6, ge=0, description="lr at the first step")
    cooldown_epochs: float = Field(10, ge=0, description="final epochs held at min_lr")
    weight_decay: float = Field(0.05, ge=0, description="AdamW decay (not norms, biases)")
    betas: tuple[float, float] = Field((0.9, 0.999), description="AdamW betas")
    clip_grad: float | None = Field(None, gt=0, description="max gradient norm (none: no clipping)")
    label_smoothing: float = Field(0.1, ge=0, lt=1, description="label smoothing of the targets")
    mixup: float = Field(0.8, ge=0, description="Mixup alpha (0: off)")
    cutmix: float = Field(1.0, ge=0, description="CutMix alpha (0: off)")
    mix_prob: float = Field(1.0, ge=0, le=1, description="chance that a batch is mixed")
    switch_prob: float = Field(0.5, ge=0, le=1, description="chance of CutMix, not Mixup")
    randaugment: str = Field("rand-m9-mstd0.5-inc1", description="RandAugment policy (timm syntax) or off")
    hflip: float = Field(0.5, ge=0, le=1, description="chance of a horizontal flip")
    crop_scale: tuple[float, float] = Field((0.08, 1.0), description="random crop: area range")
    crop_ratio: tuple[float, float] = Field((3 / 4, 4 / 3), description="crop aspect range")
    reprob: float = Field(0.25, ge=0, le=1, description="chance of random erasing")
    repeated_aug: int = Field(3, ge=1, description="copies of an image per epoch")
    eval_crop: float = Field(0.875, gt=0, le=1, description="eval centre-crop fraction")
    drop_path: float | None = Field(None, ge=0, lt=1, description="stochastic depth (none: the spec's)")
    ema_decay: float | None = Field(0.99996, gt=0, lt=1, description="EMA decay (none: off)")
    amp: AmpMode = Field("auto", description="auto (bf16 where it pays: spachc/runtime/precision.py), bf16, fp16, off")
    seed: int = Field(0, ge=0, description="seed of all randomness")
    layer_decay: float = Field(1.0, gt=0, le=1, description="lr x R per layer below the head (1: off)")
    freeze: str | None = Field(None, description="frozen: stem,stageN,..|backbone")

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

# Small data, small images (the built-in 8x8 digits upscaled to 32x32). Short runs must learn:
# batch 32 and a one-epoch warm-up give a 6-epoch run 270 steps, 240 of them at or near the
# peak lr (batch 64 with a two-epoch warm-up spent a third of 130 steps warming up). Crops
# stay mild (area 0.8-1, aspect 0.9-1.1): on an 8x8 source a 0.6 area crop keeps 6x6 whole
# pixels stretched by up to 4/3, and eval keeps the whole image (eval_crop 1), because the
# 0.875 centre crop of ImageNet practice cuts the strokes at a digit's border.
QUICK = Recipe(
    epochs=30, batch_size=32, lr=3e-3, min_lr=1e-5, warmup_epochs=1, warmup_lr=1e-5, cooldown_epochs=0,
    weight_decay=0.05, label_smoothing=0.1, mixup=0.0, cutmix=0.0, mix_prob=0.0, randaugment="off",
    hflip=0.0, crop_scale=(0.8, 1.0), crop_ratio=(0.9, 1.1), reprob=0.0, repeated_aug=1, eval_crop=1.0,
    ema_decay=None,
)

# Fine-tuning a trained model on small data (`--init`): the quick recipe's small-image
# augmentation and peak lr, with what fine-tuning practice adds (timm / BEiT / ConvNeXt):
# - layer decay 0.75: BEiT uses 0.65 (base) to 0.75 (large) and timm's fine-tuning examples
#   0.65-0.75; spachc's small networks have few layers (4-6), so the milder 0.75 keeps the stem at
#   0.75^5 = 0.24x the head's lr rather than 0.65^5 = 0.12x.
# - lr 3e-3, quick's, not the lower lr of ImageNet practice (DeiT fine-tunes at 1/100 of its
#   pre-training lr, ConvNeXt 22k -> 1k at 5e-5 against 4e-3): measured on small spachc networks
#   and runs of a few hundred steps (benchmarks/finetune.py, RESULTS "Fine-tuning"), lr 1e-3
#   with layer decay 0.75 ended 2-3 points below lr 3e-3 on a same-domain task and ~17 points
#   below across domains (animals -> digits); layer decay already lowers the early layers' lr.
# - a one-epoch warm-up (BEiT: 5 of 100 epochs; DeiT fine-tuning: none) and 10 epochs in all
#   (DeiT's 384 fine-tuning: 30 epochs against 300): the fresh head needs a few hundred steps.
# - weight decay 0.05 and label smoothing 0.1, as BEiT's and ConvNeXt's fine-tuning keep them;
#   no Mixup/CutMix, RandAugment or EMA (quick's choices for 8x8 and 28x28 sources).
FINETUNE = QUICK.model_copy(update={"epochs": 10, "layer_decay": 0.75})

RECIPES = {"spach": SPACH, "quick": QUICK, "finetune": FINETUNE}


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
