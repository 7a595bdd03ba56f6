"""Training batches stay uint8 until the device (timm's PrefetchLoader idea, written anew).

DataLoader workers decode, crop, flip and RandAugment each sample and draw its Random Erasing
box from the sample's own seeded stream (TrainTransform.uint8); `collate_train` stacks them into
a B×C×H×W uint8 batch, a quarter of the bytes of float32 to pin and copy. `finish_batch` then
converts, normalises and erases on the device, for the whole batch at once; Mixup/CutMix follow
there as before (spachc.train.mix).

The numbers are those of the per-sample CPU path (TrainTransform.__call__): the same float
operations in the same order, `x.float() / 255`, then `(x - mean) / std`, each correctly
rounded, so normalising gives bit-equal tensors. The erasing noise of a sample comes from a
generator seeded with the sample's seed on the device that draws it: on the CPU it is the very
noise of the per-sample path; on an accelerator it is that device's stream for the same seed,
the same however many workers or ranks ran and however often a run was resumed.
"""

from __future__ import annotations

import functools
from typing import NamedTuple

import torch

from .data import Unreadable
from .normalization import Normalization
from .transforms import TrainSample  # noqa: F401  (what collate_train stacks)


class TrainBatch(NamedTuple):
    """What the training DataLoader yields. `images` (B×C×H×W uint8) and `labels` are None when
    no sample of the batch could be read; `erase` is B×5 int64 rows (top, left, height, width,
    seed), a height of 0 meaning none; `unreadable` the messages of the samples left out."""

    images: torch.Tensor | None
    labels: torch.Tensor | None
    erase: torch.Tensor | None
    unreadable: list[str]


def collate_train(samples: list) -> TrainBatch:
    """Stack (TrainSample, label) pairs; an Unreadable is left out and its message kept, so one
    bad file never aborts hours of training (as collate_readable does for evaluation)."""
    from torch.utils.data import default_collate

    good = [s for s in samples if not isinstance(s, Unreadable)]
    bad = [s.message for s in samples if isinstance(s, Unreadable)]
    if not good:
        return TrainBatch(None, None, None, bad)
    images = default_collate([sample.image for sample, _ in good])  # in shared memory when in a worker
    labels = torch.tensor([label for _, label in good], dtype=torch.int64)
    erase = torch.tensor([tuple(sample.erase) for sample, _ in good], dtype=torch.int64)
    return TrainBatch(images, labels, erase, bad)


def _noise_generator(seed: int, device: torch.device) -> torch.Generator:
    """A generator for one sample's noise, on the device where the generator kinds exist
    (CPU, CUDA), else on the CPU with the noise copied over."""
    where = device if device.type in ("cpu", "cuda") else torch.device("cpu")
    return torch.Generator(device=where).manual_seed(seed)


@functools.lru_cache(maxsize=8)
def _statistics(norm: Normalization, device: torch.device) -> tuple[torch.Tensor, torch.Tensor]:
    """Mean and std as 1×C×1×1 float32 tensors on the device, made once: a tensor built from a
    list each step would be a synchronous copy to an accelerator."""
    mean = torch.tensor(norm.mean, dtype=torch.float32, device=device).view(1, -1, 1, 1)
    std = torch.tensor(norm.std, dtype=torch.float32, device=device).view(1, -1, 1, 1)
    return mean, std


def finish_batch(images: torch.Tensor, erase: torch.Tensor | None, norm: Normalization,
                 device: torch.device) -> torch.Tensor:
    """The uint8 batch as the network's float32 input on `device`: copied as uint8, converted,
    normalised, and erased where the sample's worker drew a box (`erase` stays on the CPU: its
    rows steer a short loop over the erased samples, as in timm's batch erasing)."""
    x = images.to(device, non_blocking=True).float().div_(255.0)
    mean, std = _statistics(norm, device)
    x.sub_(mean).div_(std)
    if erase is None:
        return x
    channels = x.shape[1]
    for i in torch.nonzero(erase[:, 2] > 0).flatten().tolist():
        top, left, h, w, seed = erase[i].tolist()
        generator = _noise_generator(seed, device)
        noise = torch.randn((channels, h, w), generator=generator, device=generator.device)
        x[i, :, top:top + h, left:left + w] = noise.to(device, non_blocking=True)
    return x
