"""Validation: top-1, top-5 and loss over a split, summed exactly across ranks."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from pathlib import Path

import torch
import torch.nn.functional as F

from ..lang.ir import Spec
from ..runtime import autocast, worker_init
from .run_folder import META_EVAL
from .data import Dataset, EvalShard
from .distributed import World, sum_across
from .transforms import EvalTransform, Normalization


@dataclass(frozen=True)
class EvalResult:
    top1: float
    top5: float
    loss: float
    images: int
    seconds: float

    @property
    def images_per_second(self) -> float:
        return self.images / self.seconds if self.seconds > 0 else 0.0


def eval_transform_config(spec: Spec, dataset: Dataset, crop_fraction: float) -> dict:
    """What the eval transform needs, saved in weights files so `spachc eval` repeats it."""
    norm = dataset.norm.for_channels(spec.channels)
    return {"size": list(spec.input), "channels": spec.channels, "mean": list(norm.mean), "std": list(norm.std),
            "crop_fraction": crop_fraction}


def eval_transform(config: dict) -> EvalTransform:
    return EvalTransform(tuple(config["size"]), config["channels"],
                         Normalization(tuple(config["mean"]), tuple(config["std"])), config["crop_fraction"])


def val_loader(dataset: Dataset, config: dict, batch_size: int, workers: int, world: World):
    shard = EvalShard(dataset.val, eval_transform(config), world.rank, world.size)
    return torch.utils.data.DataLoader(shard, batch_size=batch_size, shuffle=False, num_workers=workers,
                                       worker_init_fn=worker_init if workers else None)


@torch.no_grad()
def evaluate(model: torch.nn.Module, loader, device: torch.device, world: World,
             amp_dtype: torch.dtype | None = None, channels_last: bool = False) -> EvalResult:
    was_training = model.training
    model.eval()
    correct1 = correct5 = loss_sum = count = 0.0
    start = time.perf_counter()
    for images, labels in loader:
        images, labels = images.to(device, non_blocking=True), labels.to(device, non_blocking=True)
        if channels_last:
            images = images.contiguous(memory_format=torch.channels_last)
        with autocast(device, amp_dtype):
            logits = model(images)
        logits = logits.float()
        loss_sum += float(F.cross_entropy(logits, labels, reduction="sum"))
        top = logits.topk(min(5, logits.shape[1]), dim=1).indices
        hits = top.eq(labels[:, None])
        correct1 += float(hits[:, :1].sum())
        correct5 += float(hits.any(dim=1).sum())
        count += labels.shape[0]
    seconds = time.perf_counter() - start
    correct1, correct5, loss_sum, count = sum_across(world, [correct1, correct5, loss_sum, count], device)
    model.train(was_training)
    n = max(count, 1.0)
    return EvalResult(100.0 * correct1 / n, 100.0 * correct5 / n, loss_sum / n, int(count), seconds)


def saved_eval_config(weights: Path) -> dict | None:
    from ..nn.weights import read_metadata

    text = read_metadata(weights).get(META_EVAL)
    return json.loads(text) if text else None
