"""Images that are broken or hostile, read in process: decompression bombs and extreme aspect
ratios are refused from the header, before decoding or resizing; 16-bit and float images are
scaled, not saturated; mutated PNGs are decoded or get a code, never another exception
(`predict` and `train` on such files are tests/e2e/test_hostile_images_cli.py)."""

from __future__ import annotations

import random

import numpy as np
import pytest
from PIL import Image
from support.hostile import images, png_declaring  # noqa: F401  (images: a fixture)
from support.image_fuzzing import mutate

from spachc.datasets.preprocess import ImageReadError, ImageRefused, read_image, to_mode


def test_declared_size_limits_hold_before_decoding(images):
    _, folder = images
    for name in ("bomb.png", "strip.png"):
        with pytest.raises(ImageRefused):
            read_image(folder / name)
    with pytest.raises(ImageReadError, match="a directory"):
        read_image(folder)


def test_16_bit_and_float_images_are_scaled_not_saturated(tmp_path):
    values = np.array([[0, 257, 32768, 65535]], dtype=np.uint16)
    Image.fromarray(values).save(tmp_path / "deep.png")  # a 16-bit greyscale PNG
    grey = np.asarray(to_mode(read_image(tmp_path / "deep.png"), 1))
    assert grey.tolist() == [[0, 1, 128, 255]]
    rgb = np.asarray(to_mode(read_image(tmp_path / "deep.png"), 3))
    assert rgb[0, :, 0].tolist() == [0, 1, 128, 255]
    Image.fromarray(np.array([[0.0, 0.25, 1.0, 2.0]], dtype=np.float32), mode="F").save(tmp_path / "float.tif")
    assert np.asarray(to_mode(read_image(tmp_path / "float.tif"), 1)).tolist() == [[0, 64, 255, 255]]


def test_mutated_pngs_are_decoded_or_coded_never_another_exception(tmp_path):
    """The quick image fuzzer (benchmarks/fuzz_robust.py runs it long)."""
    rng = np.random.default_rng(7)
    source = tmp_path / "src.png"
    Image.fromarray(rng.integers(0, 255, (24, 24, 3), dtype=np.uint8)).save(source)
    path = tmp_path / "case.png"
    original, mutator = source.read_bytes(), random.Random(7)
    for data in (mutate(original, mutator) for _ in range(60)):
        path.write_bytes(data)
        try:
            image = read_image(path)
        except ImageReadError:
            continue
        assert image.width * image.height <= 89_478_485
