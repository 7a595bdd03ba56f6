"""Validation: top-1, top-5 and loss over a split, summed exactly across ranks."""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

import torch
import torch.nn.functional as F

from ..lang.ir import Spec
from ..model_io.metadata import ModelInfo, Preprocessing, read_model_info
from ..runtime.precision import autocast
from ..runtime.stopping import batch_boundaries, stop_point, worker_init
from ..datasets.data import Dataset, EvalShard, collate_readable
from .distributed import World, sum_across
from ..datasets.transforms import EvalTransform, Normalization


@dataclass(frozen=True)
class EvalResult:
    top1: float
    top5: float
    loss: float
    images: int
    seconds: float
    skipped: tuple[str, ...] = ()  # images that could not be read (messages), left out of the figures

    @property
    def images_per_second(self) -> float:
        return self.images / self.seconds if self.seconds > 0 else 0.0


def eval_transform_config(spec: Spec, dataset: Dataset, crop_fraction: float) -> ModelInfo:
    """The eval preprocessing and the class names, saved in weights files so `spachc eval`
    and `spachc predict` repeat exactly what training validated with."""
    norm = dataset.norm.for_channels(spec.channels)
    pre = Preprocessing(tuple(spec.input), spec.channels, tuple(norm.mean), tuple(norm.std), crop_fraction)
    return ModelInfo(pre, tuple(dataset.classes))


def eval_transform(info: ModelInfo | Preprocessing) -> EvalTransform:
    pre = info.preprocessing if isinstance(info, ModelInfo) else info
    return EvalTransform(pre.input_size, pre.channels, Normalization(pre.mean, pre.std), pre.crop_pct,
                         pre.interpolation)


def val_loader(dataset: Dataset, config: dict, batch_size: int, workers: int, world: World):
    shard = EvalShard(dataset.val, eval_transform(config), world.rank, world.size, skip_unreadable=True)
    return torch.utils.data.DataLoader(shard, batch_size=batch_size, shuffle=False, num_workers=workers,
                                       worker_init_fn=worker_init if workers else None, collate_fn=collate_readable)


@torch.no_grad()
def evaluate(model: torch.nn.Module, loader, device: torch.device, world: World,
             amp_dtype: torch.dtype | None = None, channels_last: bool = False) -> EvalResult:
    was_training = model.training
    model.eval()
    start = time.perf_counter()
    skipped: list[str] = []
    with batch_boundaries():
        correct1, correct5, loss_sum, count = _accumulate(model, loader, device, amp_dtype, channels_last, skipped)
    seconds = time.perf_counter() - start
    correct1, correct5, loss_sum, count = sum_across(world, [correct1, correct5, loss_sum, count], device)
    model.train(was_training)
    n = max(count, 1.0)
    return EvalResult(100.0 * correct1 / n, 100.0 * correct5 / n, loss_sum / n, int(count), seconds, tuple(skipped))


def _accumulate(model, loader, device, amp_dtype, channels_last, skipped: list[str]) -> tuple[float, ...]:
    correct1 = correct5 = loss_sum = count = 0.0
    batches = iter(loader)
    try:
        for batch in batches:
            stop_point()
            images, labels = batch[0], batch[1]
            if len(batch) > 2:
                skipped += batch[2]
            if images is None:
                continue
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
    finally:
        del batches  # stops the worker processes now, not when a traceback lets go of them
    return correct1, correct5, loss_sum, count


def saved_eval_config(weights: Path, spec: Spec) -> ModelInfo:
    """The preprocessing and labels recorded in a weights file (defaults and a note if none)."""
    from ..model_io.tensors import read_metadata

    return read_model_info(read_metadata(weights), spec.input, spec.channels, str(weights))
