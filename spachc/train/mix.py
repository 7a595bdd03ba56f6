"""Mixup and CutMix on a batch, with the soft targets and loss they need (timm's semantics:
the batch is mixed with its own reverse; label smoothing is folded into the targets)."""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F


def smooth_one_hot(labels: torch.Tensor, classes: int, smoothing: float) -> torch.Tensor:
    off = smoothing / classes
    targets = torch.full((labels.shape[0], classes), off, device=labels.device)
    return targets.scatter_(1, labels[:, None], 1.0 - smoothing + off)


def soft_target_cross_entropy(logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    return torch.sum(-targets * F.log_softmax(logits.float(), dim=-1), dim=-1).mean()


def cutmix_box(height: int, width: int, lam: float, rng: np.random.Generator) -> tuple[int, int, int, int]:
    cut = np.sqrt(1.0 - lam)
    ch, cw = int(height * cut), int(width * cut)
    cy, cx = int(rng.integers(0, height)), int(rng.integers(0, width))
    return (max(cy - ch // 2, 0), min(cy + ch // 2, height), max(cx - cw // 2, 0), min(cx + cw // 2, width))


class Mixer:
    """Mixes a batch in place and returns soft targets. `rng` is drawn fresh for each step."""

    def __init__(self, classes: int, mixup: float, cutmix: float, prob: float, switch_prob: float, smoothing: float):
        self.classes, self.mixup, self.cutmix = classes, mixup, cutmix
        self.prob, self.switch_prob, self.smoothing = prob, switch_prob, smoothing

    @property
    def active(self) -> bool:
        return self.prob > 0 and (self.mixup > 0 or self.cutmix > 0)

    def __call__(self, images: torch.Tensor, labels: torch.Tensor, rng: np.random.Generator):
        lam = 1.0
        if self.active and rng.random() < self.prob:
            use_cutmix = self.cutmix > 0 and (self.mixup <= 0 or rng.random() < self.switch_prob)
            if use_cutmix:
                lam = float(rng.beta(self.cutmix, self.cutmix))
                top, bottom, left, right = cutmix_box(images.shape[-2], images.shape[-1], lam, rng)
                images[..., top:bottom, left:right] = images.flip(0)[..., top:bottom, left:right]
                lam = 1.0 - (bottom - top) * (right - left) / (images.shape[-2] * images.shape[-1])
            else:
                lam = float(rng.beta(self.mixup, self.mixup))
                flipped = images.flip(0).mul_(1.0 - lam)
                images.mul_(lam).add_(flipped)
        targets = smooth_one_hot(labels, self.classes, self.smoothing)
        if lam != 1.0:
            targets = targets * lam + targets.flip(0) * (1.0 - lam)
        return images, targets
