"""The one function that turns a decoded image into a network input, shared by `spachc eval`
(torch DataLoader), `spachc predict` and `spachc predict --onnx` (onnxruntime): same resize,
crop and normalisation, so the three agree to the last bit of the input array.

PIL and numpy only, no torch: the onnxruntime path does not need it.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image, UnidentifiedImageError

from ..diagnostics import UserError
from ..model_io.metadata import Preprocessing

FILTERS = {"bicubic": Image.Resampling.BICUBIC, "bilinear": Image.Resampling.BILINEAR,
           "nearest": Image.Resampling.NEAREST}


IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".bmp", ".gif", ".webp", ".tif", ".tiff", ".ppm", ".pgm"}

# Limits checked on the size an image's header declares, before a byte of it is decoded:
# a decompression bomb (a few KB of PNG declaring 50000x50000) or a 1x2,000,000 strip (whose
# shorter side, resized to the network's input, would make it 64,000,000 pixels wide).
MAX_IMAGE_PIXELS = 89_478_485  # PIL's own warning threshold (Image.MAX_IMAGE_PIXELS): refused here
MAX_ASPECT_RATIO = 100  # longer side / shorter side
MAX_RESIZED_PIXELS = 1 << 26  # the resized image before the centre crop (64 Mpx)


class ImageReadError(UserError):
    """An image file that cannot be decoded; the message names it."""

    code = "E1221"


class ImageRefused(ImageReadError):
    """An image whose declared size is refused before decoding (bomb, extreme aspect ratio)."""

    code = "E1250"


class PreprocessingError(UserError):
    """A model whose outputs are not finite numbers (recorded preprocessing itself is checked
    where it is read: spachc.model_io.metadata.Preprocessing, E826)."""

    code = "E1251"


def read_image(path: str | Path) -> Image.Image:
    """Decode an image file, refusing sizes beyond the limits from its header first; images of
    more than 8 bits per sample come back as 8-bit, scaled (see `to_8bit`)."""
    try:
        with Image.open(path) as image:
            check_declared_size(image.size, path)
            image.load()
            return to_8bit(image)
    except ImageReadError:
        raise
    except FileNotFoundError:
        raise ImageReadError(f"{path}: no such file") from None
    except IsADirectoryError:
        raise ImageReadError(f"{path}: a directory, not an image file") from None
    except Image.DecompressionBombError as exc:
        raise ImageRefused(f"{path}: refused before decoding: {exc}") from None
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, EOFError, MemoryError) as exc:
        raise ImageReadError(f"{path}: cannot decode image ({exc})") from None


def check_declared_size(size: tuple[int, int], path) -> None:
    width, height = size
    if width < 1 or height < 1:
        raise ImageReadError(f"{path}: declares a size of {width}x{height}")
    if width * height > MAX_IMAGE_PIXELS:
        raise ImageRefused(f"{path}: refused before decoding: it declares {width}x{height} = {width * height:,} "
                           f"pixels, more than {MAX_IMAGE_PIXELS:,} (a decompression bomb, or a scan to downsize "
                           "first)")
    if max(width, height) > MAX_ASPECT_RATIO * min(width, height):
        raise ImageRefused(f"{path}: refused before decoding: {width}x{height} is more than {MAX_ASPECT_RATIO} times "
                           "longer than wide; resizing its shorter side to the input would make it huge")


def to_8bit(image: Image.Image) -> Image.Image:
    """16-bit, 32-bit and float greyscale images as 8-bit "L", scaled and not saturated: I;16
    (and I, as 16-bit PNGs decode) from 0..65535, F from 0..1 (values outside are clipped).
    PIL's own convert("L") clips them at 255 instead."""
    if image.mode.startswith("I;16") or image.mode == "I":
        array = np.asarray(image, dtype=np.float64)
        return Image.fromarray(np.clip(np.round(array * (255.0 / 65535.0)), 0, 255).astype(np.uint8), mode="L")
    if image.mode == "F":
        array = np.nan_to_num(np.asarray(image, dtype=np.float64), nan=0.0)
        return Image.fromarray(np.clip(np.round(array * 255.0), 0, 255).astype(np.uint8), mode="L")
    return image


def to_mode(image: Image.Image, channels: int) -> Image.Image:
    return to_8bit(image).convert("L" if channels == 1 else "RGB")


def resize_center_crop(image: Image.Image, size: tuple[int, int], crop_fraction: float,
                       interpolation: str = "bicubic") -> Image.Image:
    """Resize the shorter side to max(size)/crop_fraction (rounded), then take the centred `size` crop."""
    width, height = image.size
    scale = max(size[0], size[1]) / crop_fraction / min(width, height)
    new_w, new_h = max(size[1], round(width * scale)), max(size[0], round(height * scale))
    if new_w * new_h > MAX_RESIZED_PIXELS:
        raise ImageRefused(f"a {width}x{height} image would be resized to {new_w}x{new_h} before its centre crop, "
                           f"more than {MAX_RESIZED_PIXELS:,} pixels; refused")
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


def display_name(path: str | Path) -> str:
    """A file name as valid text: bytes that are not UTF-8 (kept by Python as surrogates) are
    written as \\xNN, so that --json output is always valid UTF-8 JSON."""
    return str(path).encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")
