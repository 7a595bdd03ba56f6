"""Training batches as uint8 until the device: the workers' half (crop, flip, RandAugment,
the erasing draws) and the device's half (normalise, erase) give the numbers of the per-sample
float path, bit for bit on the CPU, and the same batches whatever the number of workers."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image

from spachc.datasets.data import EpochSampler, TransformedSplit, Split, Unreadable
from spachc.datasets.device_batches import collate_train, finish_batch
from spachc.datasets.transforms import IMAGENET, RandAugment, TrainTransform

CPU = torch.device("cpu")


def images(count: int = 12, seed: int = 0) -> list[Image.Image]:
    rng = np.random.default_rng(seed)
    return [Image.fromarray(rng.integers(0, 256, (30 + 3 * i, 40 - i, 3), dtype=np.uint8)) for i in range(count)]


def transform(channels: int, reprob: float) -> TrainTransform:
    return TrainTransform((20, 24), channels, IMAGENET.for_channels(channels), (0.08, 1.0), (0.75, 4 / 3), 0.5,
                          RandAugment(), reprob)


@pytest.mark.parametrize("channels", [3, 1])
@pytest.mark.parametrize("reprob", [0.0, 0.25, 1.0])
def test_the_device_batch_equals_the_per_sample_float_path_bit_for_bit(channels, reprob):
    tf, pictures = transform(channels, reprob), images()
    seeds = [(1 << 62) + 977 * i for i in range(len(pictures))]  # 63-bit, as sample_seed gives
    per_sample = torch.stack([tf(p, s) for p, s in zip(pictures, seeds)])
    batch = collate_train([(tf.uint8(p, s), i % 3) for i, (p, s) in enumerate(zip(pictures, seeds))])
    assert batch.images.dtype == torch.uint8 and batch.images.shape == (12, channels, 20, 24)
    assert batch.labels.tolist() == [i % 3 for i in range(12)] and batch.unreadable == []
    erased = int((batch.erase[:, 2] > 0).sum())
    assert erased == 0 if reprob == 0 else erased > 0
    finished = finish_batch(batch.images, batch.erase, tf.norm, CPU)
    assert finished.dtype == torch.float32 and finished.is_contiguous()
    assert torch.equal(finished, per_sample)  # equal, not within an ulp: the same operations in the same order


def test_normalising_is_the_old_arithmetic_on_every_byte_value():
    """All 256 values per channel: x / 255 then (x - mean) / std, as the per-sample path did."""
    levels = torch.arange(256, dtype=torch.uint8).repeat(3, 1).view(1, 3, 16, 16)
    got = finish_batch(levels, None, IMAGENET, CPU)
    want = torch.stack([(torch.arange(256, dtype=torch.float32) / 255 - m) / s
                        for m, s in zip(torch.tensor(IMAGENET.mean), torch.tensor(IMAGENET.std))]).view(1, 3, 16, 16)
    assert torch.equal(got, want)


def test_erasing_parameters_come_from_the_sample_seed_and_only_the_box_changes():
    tf = transform(3, 1.0)
    picture = images(1)[0]
    a, b, c = tf.uint8(picture, 5), tf.uint8(picture, 5), tf.uint8(picture, 6)
    assert a.erase == b.erase and torch.equal(a.image, b.image) and a.erase != c.erase
    top, left, h, w, seed = a.erase
    assert seed == 5 and h > 0 and w > 0
    plain = finish_batch(a.image[None], None, tf.norm, CPU)[0]
    erased = finish_batch(a.image[None], torch.tensor([tuple(a.erase)]), tf.norm, CPU)[0]
    changed = (plain != erased).any(dim=0)
    assert changed[top:top + h, left:left + w].float().mean() > 0.99  # N(0, 1) noise in the box
    changed[top:top + h, left:left + w] = False
    assert not changed.any()  # and nothing outside it


def test_unreadable_samples_are_left_out_with_their_messages():
    tf = transform(3, 0.5)
    pictures = images(3)
    batch = collate_train([(tf.uint8(pictures[0], 1), 0), Unreadable("a.jpg: cannot decode"),
                           (tf.uint8(pictures[2], 3), 2)])
    assert batch.images.shape[0] == 2 and batch.labels.tolist() == [0, 2] and batch.erase.shape == (2, 5)
    assert batch.unreadable == ["a.jpg: cannot decode"]
    assert collate_train([Unreadable("b.png: no such file")]) == (None, None, None, ["b.png: no such file"])


def test_the_batches_do_not_depend_on_the_number_of_workers():
    pictures = images(8)
    split = Split(pictures, [i % 2 for i in range(8)], lambda picture: picture.copy())
    tf = transform(3, 0.5)

    def batches(workers: int) -> list:
        loader = torch.utils.data.DataLoader(TransformedSplit(split, tf.uint8), num_workers=workers,
                                             batch_sampler=EpochSampler(8, 4, seed=3, epoch=1),
                                             collate_fn=collate_train)
        return [finish_batch(b.images, b.erase, tf.norm, CPU) for b in loader]

    alone, two = batches(0), batches(2)
    assert len(alone) == 2 and all(torch.equal(a, b) for a, b in zip(alone, two))


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_on_cuda_normalising_is_bit_equal_and_erasing_is_reproducible():
    tf, pictures = transform(3, 0.0), images()
    batch = collate_train([(tf.uint8(p, 100 + i), 0) for i, p in enumerate(pictures)])
    cuda = torch.device("cuda")
    assert torch.equal(finish_batch(batch.images.pin_memory(), None, tf.norm, cuda).cpu(),
                       finish_batch(batch.images, None, tf.norm, CPU))
    tf = transform(3, 1.0)
    batch = collate_train([(tf.uint8(p, 100 + i), 0) for i, p in enumerate(pictures)])
    first = finish_batch(batch.images, batch.erase, tf.norm, cuda).cpu()
    assert torch.equal(first, finish_batch(batch.images, batch.erase, tf.norm, cuda).cpu())
    on_cpu = finish_batch(batch.images, batch.erase, tf.norm, CPU)
    outside = torch.ones_like(first, dtype=torch.bool)
    for i, (top, left, h, w, _) in enumerate(batch.erase.tolist()):
        outside[i, :, top:top + h, left:left + w] = False
    assert torch.equal(first[outside], on_cpu[outside])  # the noise is the device's own stream
