"""The training input path: JPEG draft decoding for crops much larger than the output, its
reproducibility, its errors, and the epoch line of an input-bound run."""

from __future__ import annotations

import random

import numpy as np
import pytest
import torch
from PIL import Image

from spachc.datasets.data import DataError, open_image, read_image
from spachc.datasets.transforms import IMAGENET, TrainTransform, crop_box, decode_for_crop
from spachc.train.loop import input_bound_note


def photo(path, size=(800, 600), seed=0):
    """A smooth colour field with texture, saved as a real JPEG."""
    rng = np.random.default_rng(seed)
    coarse = rng.integers(0, 256, (size[1] // 40 + 2, size[0] // 40 + 2, 3), dtype=np.uint8)
    field = np.asarray(Image.fromarray(coarse).resize(size, Image.Resampling.BICUBIC), dtype=np.int16)
    pixels = np.clip(field + rng.normal(0, 6, (size[1], size[0], 1)), 0, 255).astype(np.uint8)
    Image.fromarray(pixels).save(path, quality=92)
    return str(path)


def transform(size: int) -> TrainTransform:
    return TrainTransform((size, size), 3, IMAGENET, (0.08, 1.0), (3 / 4, 4 / 3), 0.5, None, 0.0)


def test_a_crop_four_times_the_output_decodes_at_a_quarter(tmp_path):
    path = photo(tmp_path / "a.jpg")
    box = (40, 20, 760, 580)  # 720×560 -> 128×128: 1/4 scale still leaves 180×140
    image, scaled = decode_for_crop(open_image(path), box, (128, 128))
    assert image.size == (200, 150)
    assert scaled == pytest.approx((10, 5, 190, 145))
    drafted = np.asarray(image.resize((128, 128), Image.Resampling.BICUBIC, box=scaled), dtype=np.float64)
    full = np.asarray(read_image(path).resize((128, 128), Image.Resampling.BICUBIC, box=box), dtype=np.float64)
    # The same picture: DCT downscaling then bicubic vs bicubic alone, on 0-255 pixels.
    assert np.abs(drafted - full).mean() < 3.0


def test_a_crop_near_the_output_size_decodes_whole(tmp_path):
    path = photo(tmp_path / "a.jpg", size=(500, 375))
    box = (0, 0, 400, 300)  # less than twice 224: no reduction can keep the detail
    image, scaled = decode_for_crop(open_image(path), box, (224, 224))
    assert image.size == (500, 375) and scaled == box


@pytest.mark.parametrize("size", [224, 64])
def test_train_transform_is_reproducible_and_equals_full_decode_without_draft(tmp_path, size):
    path = photo(tmp_path / "a.jpg", size=(500, 375))
    tf = transform(size)
    lazy = [tf(open_image(path), seed) for seed in range(12)]
    again = [tf(open_image(path), seed) for seed in range(12)]
    whole = [tf(read_image(path), seed) for seed in range(12)]
    assert all(torch.equal(a, b) for a, b in zip(lazy, again))
    drafted = 0
    for seed, (a, b) in enumerate(zip(lazy, whole)):
        box = crop_box(500, 375, tf.crop_scale, tf.crop_ratio, random.Random(seed))
        if box[2] - box[0] >= 2 * size and box[3] - box[1] >= 2 * size:
            drafted += 1
            assert (a - b).abs().mean().item() < 0.05  # normalised units: one 0-255 level is ~0.017
        else:
            assert torch.equal(a, b)  # not drafted: the very same pixels as before draft mode
    # 500×375 never gives a 448×448 crop; at 64 some of the 12 crops are drafted
    assert drafted == 0 if size == 224 else drafted > 0


def test_non_jpeg_training_images_are_decoded_at_once(tmp_path):
    path = tmp_path / "a.png"
    Image.new("RGB", (40, 30), (10, 20, 30)).save(path)
    image = open_image(str(path))
    assert image.format == "PNG" and image.getpixel((0, 0)) == (10, 20, 30)


def test_a_jpeg_with_a_broken_body_is_named_in_the_error(tmp_path):
    path = photo(tmp_path / "a.jpg")
    data = open(path, "rb").read()
    open(path, "wb").write(data[:len(data) // 3])  # the header survives, the scan does not
    image = open_image(path)  # the header is read now, the body later
    with pytest.raises(DataError, match=f"{path}: cannot decode image"):
        transform(64)(image, 0)


def test_input_bound_note():
    assert input_bound_note(1.0, 60.0) == ""
    note = input_bound_note(41.2, 66.3)
    assert note == "\n  input-bound: 62% of 66.3 s waiting for data, 25.1 s computing (--workers)"
    assert max(len(line) for line in input_bound_note(99999.9, 99999.9).splitlines()) <= 80
