"""The one function that turns a decoded image into a network input, shared by `spachc eval`
(torch DataLoader), `spachc predict` and `spachc predict --onnx` (onnxruntime): same resize,
crop and normalisation, so the three agree to the last bit of the input array.

PIL and numpy only, no torch: the onnxruntime path does not need it.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image, UnidentifiedImageError

from .lang.diagnostics import UserError
from .model_io.metadata import Preprocessing

FILTERS = {"bicubic": Image.Resampling.BICUBIC, "bilinear": Image.Resampling.BILINEAR,
           "nearest": Image.Resampling.NEAREST}


class ImageReadError(UserError):
    """An image file that cannot be decoded; the message names it."""

    code = "E1221"


def read_image(path: str | Path) -> Image.Image:
    try:
        with Image.open(path) as image:
            image.load()
            return image
    except FileNotFoundError:
        raise ImageReadError(f"{path}: no such file") from None
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as exc:
        raise ImageReadError(f"{path}: cannot decode image ({exc})") from None


def to_mode(image: Image.Image, channels: int) -> Image.Image:
    return image.convert("L" if channels == 1 else "RGB")


def resize_center_crop(image: Image.Image, size: tuple[int, int], crop_fraction: float,
                       interpolation: str = "bicubic") -> Image.Image:
    """Resize the shorter side to max(size)/crop_fraction (rounded), then take the centred `size` crop."""
    width, height = image.size
    scale = max(size[0], size[1]) / crop_fraction / min(width, height)
    new_w, new_h = max(size[1], round(width * scale)), max(size[0], round(height * scale))
    image = image.resize((new_w, new_h), FILTERS[interpolation])
    left, top = (new_w - size[1]) // 2, (new_h - size[0]) // 2
    return image.crop((left, top, left + size[1], top + size[0]))


def pixels(image: Image.Image) -> np.ndarray:
    """A PIL image as C×H×W float32 in [0, 1]."""
    array = np.asarray(image, dtype=np.uint8)
    if array.ndim == 2:
        array = array[:, :, None]
    return np.ascontiguousarray(array.transpose(2, 0, 1)).astype(np.float32) / np.float32(255.0)


def normalized(x: np.ndarray, mean, std) -> np.ndarray:
    m = np.asarray(mean, dtype=np.float32).reshape(-1, 1, 1)
    s = np.asarray(std, dtype=np.float32).reshape(-1, 1, 1)
    return (x - m) / s


def prepare(image: Image.Image, pre: Preprocessing) -> np.ndarray:
    """Image -> C×H×W float32 network input, by the model's recorded preprocessing."""
    image = resize_center_crop(to_mode(image, pre.channels), pre.input_size, pre.crop_pct, pre.interpolation)
    return normalized(pixels(image), pre.mean, pre.std)


def prepare_files(paths, pre: Preprocessing) -> np.ndarray:
    """N image files -> N×C×H×W float32."""
    return np.stack([prepare(read_image(p), pre) for p in paths])
