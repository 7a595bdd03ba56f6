"""Image transforms on PIL and torch (no torchvision): the training augmentation of the
SPACH/DeiT recipe and the evaluation resize + centre crop + normalise.

Each call takes its own `random.Random` and `torch.Generator`, seeded per sample by the
sampler, so the result depends only on the run's seed and the sample's position, never on
which worker process ran it.
"""

from __future__ import annotations

import math
import random
import re
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np
import torch
from PIL import Image, ImageEnhance, ImageOps

from ..diagnostics import UserError
from ..diagnostics.codes import E1002
from ..model_io.metadata import Preprocessing
from .errors import DataError
from .normalization import IMAGENET, Normalization  # noqa: F401  (IMAGENET: re-exported)
from .preprocess import prepare, resize_center_crop, to_mode  # noqa: F401  (resize_center_crop: re-exported)

BICUBIC = Image.Resampling.BICUBIC
BILINEAR = Image.Resampling.BILINEAR


def crop_box(width: int, height: int, scale: tuple[float, float], ratio: tuple[float, float],
             rng: random.Random) -> tuple[int, int, int, int]:
    """Inception-style crop box (left, top, right, bottom): a random area and aspect ratio."""
    area = width * height
    log_ratio = (math.log(ratio[0]), math.log(ratio[1]))
    for _ in range(10):
        target = area * rng.uniform(*scale)
        aspect = math.exp(rng.uniform(*log_ratio))
        w = int(round(math.sqrt(target * aspect)))
        h = int(round(math.sqrt(target / aspect)))
        if 0 < w <= width and 0 < h <= height:
            left, top = rng.randint(0, width - w), rng.randint(0, height - h)
            return left, top, left + w, top + h
    # Fallback: the largest centred crop within the ratio range.
    in_ratio = width / height
    if in_ratio < ratio[0]:
        w, h = width, int(round(width / ratio[0]))
    elif in_ratio > ratio[1]:
        h, w = height, int(round(height * ratio[1]))
    else:
        w, h = width, height
    left, top = (width - w) // 2, (height - h) // 2
    return left, top, left + w, top + h


def random_resized_crop(image: Image.Image, size: tuple[int, int], scale: tuple[float, float],
                        ratio: tuple[float, float], rng: random.Random) -> Image.Image:
    """A random crop box (crop_box), resized to `size` (h, w)."""
    return image.resize((size[1], size[0]), BICUBIC, box=crop_box(*image.size, scale, ratio, rng))


def _decoded(image: Image.Image) -> bool:
    try:
        return image._im is not None  # Pillow >= 10.4 (`im` asserts before a decode)
    except AttributeError:
        return getattr(image, "im", None) is not None


def decode_for_crop(image: Image.Image, box: tuple[float, float, float, float],
                    size: tuple[int, int]) -> tuple[Image.Image, tuple[float, float, float, float]]:
    """Decode `image`, letting libjpeg skip detail the crop will not keep (PIL's draft mode).

    Where `image` is a JPEG not yet decoded and `box` spans at least twice `size` (h, w) in
    both axes, libjpeg decodes at 1/2, 1/4 or 1/8 scale (the largest reduction that still
    leaves the box at least `size`), far cheaper than a full decode; the box is scaled to
    match. Any other image is decoded whole and the box is returned unchanged. The crop then
    resizes from fewer source pixels (DCT-domain downscaling first): a slightly different
    image for the same random draws, as in any draft-mode loader (timm, DALI's ROI decode).
    """
    if image.format != "JPEG" or _decoded(image):
        return image, box
    full = image.size
    want = (math.ceil(full[0] * size[1] / max(box[2] - box[0], 1)),
            math.ceil(full[1] * size[0] / max(box[3] - box[1], 1)))
    if want[0] * 2 <= full[0] and want[1] * 2 <= full[1]:
        image.draft(image.mode, want)
    try:
        image.load()
    except (OSError, SyntaxError, ValueError) as exc:
        raise DataError(f"{image.filename}: cannot decode image ({exc})") from None
    if image.size == full:
        return image, box
    sx, sy = image.size[0] / full[0], image.size[1] / full[1]
    return image, (box[0] * sx, box[1] * sy, box[2] * sx, box[3] * sy)


# --- RandAugment (timm's `rand-mM-mstdS-incI` family) -------------------------------------

_MAX_LEVEL = 10.0
_FILL = 128


def _signed(value: float, rng: random.Random) -> float:
    return -value if rng.random() < 0.5 else value


def _affine(image: Image.Image, matrix: tuple) -> Image.Image:
    fill = _FILL if image.mode == "L" else (_FILL,) * 3
    return image.transform(image.size, Image.Transform.AFFINE, matrix, BILINEAR, fillcolor=fill)


def _solarize_add(image: Image.Image, add: int) -> Image.Image:
    lut = [min(255, i + add) if i < 128 else i for i in range(256)]
    return image.point(lut * (1 if image.mode == "L" else 3))


def _op(name: str, image: Image.Image, level: float, rng: random.Random) -> Image.Image:
    """Apply one RandAugment op at `level` in [0, 10] (the increasing-severity variants)."""
    f = level / _MAX_LEVEL
    if name == "AutoContrast":
        return ImageOps.autocontrast(image)
    if name == "Equalize":
        return ImageOps.equalize(image)
    if name == "Invert":
        return ImageOps.invert(image)
    if name == "Rotate":
        return image.rotate(_signed(30.0 * f, rng), BILINEAR, fillcolor=_FILL if image.mode == "L" else (_FILL,) * 3)
    if name == "PosterizeIncreasing":
        return ImageOps.posterize(image, max(1, 4 - int(4 * f)))
    if name == "SolarizeIncreasing":
        return ImageOps.solarize(image, 256 - int(256 * f))
    if name == "SolarizeAdd":
        return _solarize_add(image, int(110 * f))
    if name in ("ColorIncreasing", "ContrastIncreasing", "BrightnessIncreasing", "SharpnessIncreasing"):
        enhancer = {"Color": ImageEnhance.Color, "Contrast": ImageEnhance.Contrast,
                    "Brightness": ImageEnhance.Brightness, "Sharpness": ImageEnhance.Sharpness}
        factor = max(0.1, 1.0 + _signed(0.9 * f, rng))
        return enhancer[name.removesuffix("Increasing")](image).enhance(factor)
    if name == "ShearX":
        return _affine(image, (1, _signed(0.3 * f, rng), 0, 0, 1, 0))
    if name == "ShearY":
        return _affine(image, (1, 0, 0, _signed(0.3 * f, rng), 1, 0))
    if name == "TranslateXRel":
        return _affine(image, (1, 0, _signed(0.45 * f, rng) * image.size[0], 0, 1, 0))
    if name == "TranslateYRel":
        return _affine(image, (1, 0, 0, 0, 1, _signed(0.45 * f, rng) * image.size[1]))
    raise AssertionError(f"unknown RandAugment op {name}")


RAND_OPS_INCREASING = (
    "AutoContrast", "Equalize", "Invert", "Rotate", "PosterizeIncreasing", "SolarizeIncreasing",
    "SolarizeAdd", "ColorIncreasing", "ContrastIncreasing", "BrightnessIncreasing",
    "SharpnessIncreasing", "ShearX", "ShearY", "TranslateXRel", "TranslateYRel",
)


class RandAugmentError(UserError):
    """A --randaugment policy that cannot be read (a recipe value)."""

    code = E1002


@dataclass(frozen=True)
class RandAugment:
    """`rand-m9-mstd0.5-inc1`: `layers` ops drawn uniformly, each applied with probability 0.5
    at a magnitude drawn from N(m, mstd) clipped to [0, 10]."""

    magnitude: float = 9.0
    magnitude_std: float = 0.5
    layers: int = 2
    probability: float = 0.5

    @classmethod
    def parse(cls, policy: str) -> "RandAugment":
        parts = policy.split("-")
        if parts[0] != "rand":
            raise RandAugmentError(f"RandAugment policy '{policy}' must start with 'rand-' (e.g. rand-m9-mstd0.5-inc1)")
        values = {"magnitude": 9.0, "magnitude_std": 0.5, "layers": 2}
        for part in parts[1:]:
            match = re.fullmatch(r"(mstd|m|n|inc)([0-9.]+)", part)
            if not match:
                raise RandAugmentError(f"RandAugment policy '{policy}': cannot read '{part}' (known: mM, nN, mstdS, inc1)")
            key, number = match.groups()
            if key == "inc" and number != "1":
                raise RandAugmentError(f"RandAugment policy '{policy}': only the increasing ops (inc1) are implemented")
            if key != "inc":
                values[{"m": "magnitude", "mstd": "magnitude_std", "n": "layers"}[key]] = float(number)
        return cls(values["magnitude"], values["magnitude_std"], int(values["layers"]))

    def __call__(self, image: Image.Image, rng: random.Random) -> Image.Image:
        for name in rng.choices(RAND_OPS_INCREASING, k=self.layers):
            if rng.random() > self.probability:
                continue
            level = self.magnitude
            if self.magnitude_std > 0:
                level = rng.gauss(self.magnitude, self.magnitude_std)
            image = _op(name, image, min(_MAX_LEVEL, max(0.0, level)), rng)
        return image


# --- tensor stage ----------------------------------------------------------------------------

def to_tensor(image: Image.Image) -> torch.Tensor:
    array = np.asarray(image, dtype=np.uint8)
    if array.ndim == 2:
        array = array[:, :, None]
    return torch.from_numpy(array.copy()).permute(2, 0, 1).float().div_(255.0)


def normalize(x: torch.Tensor, mean: tuple[float, ...], std: tuple[float, ...]) -> torch.Tensor:
    m = torch.tensor(mean, dtype=x.dtype).view(-1, 1, 1)
    s = torch.tensor(std, dtype=x.dtype).view(-1, 1, 1)
    return (x - m) / s


def to_uint8(image: Image.Image) -> torch.Tensor:
    """A C×H×W uint8 tensor of the image's pixels: what a training worker hands over (the float
    conversion and normalisation run on the device, in batches: device_batches.py)."""
    array = np.array(image, dtype=np.uint8)  # a writable copy, as torch.from_numpy wants
    if array.ndim == 2:
        array = array[:, :, None]
    return torch.from_numpy(array).permute(2, 0, 1)


ERASE_SCALE, ERASE_RATIO = (0.02, 1 / 3), (0.3, 3.3)


def erase_box(height: int, width: int, probability: float, rng: random.Random,
              scale: tuple[float, float] = ERASE_SCALE, ratio: tuple[float, float] = ERASE_RATIO
              ) -> tuple[int, int, int, int] | None:
    """timm's RandomErasing box (top, left, h, w), or None when nothing is erased: the draws
    alone, so that a worker can take them from the sample's stream and the device can erase."""
    if rng.random() >= probability:
        return None
    log_ratio = (math.log(ratio[0]), math.log(ratio[1]))
    for _ in range(10):
        target = height * width * rng.uniform(*scale)
        aspect = math.exp(rng.uniform(*log_ratio))
        h = int(round(math.sqrt(target * aspect)))
        w = int(round(math.sqrt(target / aspect)))
        if 0 < w < width and 0 < h < height:
            return rng.randint(0, height - h), rng.randint(0, width - w), h, w
    return None


def random_erase(x: torch.Tensor, probability: float, generator: torch.Generator, rng: random.Random,
                 scale: tuple[float, float] = ERASE_SCALE, ratio: tuple[float, float] = ERASE_RATIO) -> torch.Tensor:
    """timm's RandomErasing, mode 'pixel': one box of per-pixel N(0, 1) noise."""
    box = erase_box(x.shape[1], x.shape[2], probability, rng, scale, ratio)
    if box is None:
        return x
    top, left, h, w = box
    x = x.clone()
    x[:, top:top + h, left:left + w] = torch.randn((x.shape[0], h, w), generator=generator)
    return x


class EraseBox(NamedTuple):
    """Random Erasing of one sample, drawn in the worker and applied on the device: the box and
    the seed of its N(0, 1) noise (the sample's seed; a height of 0 erases nothing)."""

    top: int = 0
    left: int = 0
    height: int = 0
    width: int = 0
    seed: int = 0


class TrainSample(NamedTuple):
    """A training sample as a worker hands it over: uint8 pixels (C×H×W) and its erasing."""

    image: torch.Tensor
    erase: EraseBox


@dataclass(frozen=True)
class TrainTransform:
    """The training augmentation of one sample, a function of the image and the sample's seed.

    `uint8` is what the trainer's workers run (crop, flip, RandAugment, the erasing draws) and
    device_batches.finish_batch completes it on the device; `__call__` is the same augmentation
    ending in a normalised, erased float tensor on the CPU, sample by sample: the reference
    the batch path is tested against, number for number.
    """

    size: tuple[int, int]
    channels: int
    norm: Normalization
    crop_scale: tuple[float, float]
    crop_ratio: tuple[float, float]
    hflip: float
    randaugment: RandAugment | None
    reprob: float

    def augment(self, image: Image.Image, rng: random.Random) -> Image.Image:
        """Crop, flip and RandAugment, drawing from `rng` (the sample's stream)."""
        # The box comes from the header's size, before decoding, so a JPEG decodes only as
        # finely as the crop needs (decode_for_crop); same draws, same box otherwise.
        box = crop_box(*image.size, self.crop_scale, self.crop_ratio, rng)
        image, box = decode_for_crop(image, box, self.size)
        image = to_mode(image, self.channels).resize((self.size[1], self.size[0]), BICUBIC, box=box)
        if rng.random() < self.hflip:
            image = ImageOps.mirror(image)
        if self.randaugment is not None:
            image = self.randaugment(image, rng)
        return image

    def __call__(self, image: Image.Image, seed: int) -> torch.Tensor:
        rng = random.Random(seed)
        generator = torch.Generator().manual_seed(seed)
        x = normalize(to_tensor(self.augment(image, rng)), self.norm.mean, self.norm.std)
        return random_erase(x, self.reprob, generator, rng) if self.reprob > 0 else x

    def uint8(self, image: Image.Image, seed: int) -> TrainSample:
        rng = random.Random(seed)
        pixels = to_uint8(self.augment(image, rng))
        box = erase_box(pixels.shape[1], pixels.shape[2], self.reprob, rng) if self.reprob > 0 else None
        return TrainSample(pixels, EraseBox() if box is None else EraseBox(*box, seed))


@dataclass(frozen=True)
class EvalTransform:
    """Resize, centre crop and normalise: spachc.datasets.preprocess.prepare, the one function that
    `eval`, `predict` and `predict --onnx` share."""

    size: tuple[int, int]
    channels: int
    norm: Normalization
    crop_fraction: float
    interpolation: str = "bicubic"

    @property
    def preprocessing(self) -> Preprocessing:
        return Preprocessing(tuple(self.size), self.channels, tuple(self.norm.mean), tuple(self.norm.std),
                             self.crop_fraction, self.interpolation)

    def __call__(self, image: Image.Image, seed: int = 0) -> torch.Tensor:
        return torch.from_numpy(prepare(image, self.preprocessing))
