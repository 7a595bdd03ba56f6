"""Learning rate per step: linear warm-up, cosine decay, then a cool-down held at the floor.

A pure function of the step, so resuming needs no scheduler object to restore.
"""

from __future__ import annotations

import math

from .recipe import Recipe


def lr_at(step: int, steps_per_epoch: int, recipe: Recipe, peak: float) -> float:
    total = recipe.epochs * steps_per_epoch
    warm = int(round(recipe.warmup_epochs * steps_per_epoch))
    cool = int(round(recipe.cooldown_epochs * steps_per_epoch))
    if step < warm:
        return recipe.warmup_lr + (peak - recipe.warmup_lr) * step / warm
    decay = max(1, total - warm - cool)
    t = min(1.0, (step - warm) / decay)
    return recipe.min_lr + 0.5 * (peak - recipe.min_lr) * (1.0 + math.cos(math.pi * t))
