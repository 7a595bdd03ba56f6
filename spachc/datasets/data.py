"""Datasets: image-folder trees (`train/<class>/*.png`, `val/<class>/...`) decoded from disk
with PIL, and the built-in `digits` and `animals`. All give PIL images to the transforms, so the
same augmentation code serves them all; the sampler hands every sample its own seed.
"""

from __future__ import annotations

import gzip
import math
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterator, NamedTuple, Sequence

import numpy as np
from PIL import Image

from . import preprocess
from .errors import DataError, worker_error_message  # noqa: F401  (re-exported: the package's error)
from .normalization import IMAGENET, Normalization
from ..diagnostics.codes import E1430, W1250

IMAGE_SUFFIXES = preprocess.IMAGE_SUFFIXES
BUILTIN = ("digits", "animals")
DATA_DIR = Path(__file__).resolve().parent.parent / "data"
DIGITS_FILE = DATA_DIR / "digits.csv.gz"
ANIMALS_FILE = DATA_DIR / "animals.npz"
# Mean and std of the pixels scaled to [0, 1] (over all images of each dataset).
DIGITS_NORM = Normalization((0.3053,), (0.3760,))
ANIMALS_NORM = Normalization((0.2728,), (0.4056,))


@dataclass(frozen=True)
class Split:
    """One split of a dataset: a way to get image i as PIL, and its label (an index into
    `classes`, the data set's class names). Iterating gives (PIL image, label) pairs."""

    items: Sequence  # paths or 8x8 arrays
    labels: Sequence[int]
    reader: Callable[[object], Image.Image]
    classes: tuple[str, ...] = ()

    def __len__(self) -> int:
        return len(self.labels)

    def image(self, i: int) -> Image.Image:
        return self.reader(self.items[i])

    def __iter__(self) -> Iterator[tuple[Image.Image, int]]:
        for i in range(len(self)):
            yield self.image(i), int(self.labels[i])


SPLITS = ("train", "val")


class UnknownSplit(DataError):
    """A split name that is neither `train` nor `val`."""

    code = E1430


@dataclass(frozen=True)
class Dataset:
    name: str
    classes: tuple[str, ...]
    train: Split
    val: Split
    norm: Normalization
    channels: tuple[int, ...]  # channel counts the images convert to without loss of meaning
    native_size: tuple[int, int] | None  # (h, w) when every image has one size

    def split(self, name: str) -> Split:
        """The `train` or `val` split (E1430 for another name)."""
        if name not in SPLITS:
            raise UnknownSplit(f"no split '{name}' in {self.name}: its splits are {' and '.join(SPLITS)}",
                               hint="split='train' or split='val'")
        return getattr(self, name)


def open_dataset(data: str | os.PathLike, split: str | None = None) -> Dataset | Split:
    """DATA is an image-folder directory or the name of a built-in dataset; with `split`
    ('train' or 'val'), that split alone (which knows the class names too)."""
    if split is not None:
        if split not in SPLITS:  # before any reading: a typo should not wait for a large folder
            raise UnknownSplit(f"no split '{split}': a data set's splits are {' and '.join(SPLITS)}",
                               hint="split='train' or split='val'")
        return open_dataset(data).split(split)
    data = os.fspath(data)
    path = Path(data)
    if path.is_dir():
        return image_folder(path)
    if data in BUILTIN:
        return digits() if data == "digits" else animals()
    if path.exists():
        raise DataError(f"{data}: not a directory; DATA is an image-folder tree (train/<class>/..., val/<class>/...) "
                        f"or a built-in dataset ({', '.join(BUILTIN)})")
    raise DataError(f"no such data directory or built-in dataset: '{data}' (built-in: {', '.join(BUILTIN)})")


# --- image folders ---------------------------------------------------------------------------

def read_image(path: str) -> Image.Image:
    """spachc.datasets.preprocess.read_image (size limits from the header, 16-bit scaled) as a DataError."""
    try:
        return preprocess.read_image(path)
    except preprocess.ImageReadError as exc:
        raise DataError(str(exc)) from None


def open_image(path: str) -> Image.Image:
    """read_image for training: a JPEG is only opened (its header read and its declared size
    checked against spachc.datasets.preprocess's limits), so the training transform can decode it at the
    scale its random crop needs (transforms.decode_for_crop, which raises the same DataError for
    a body that cannot be decoded); others decode now."""
    try:
        image = Image.open(path)
    except (OSError, SyntaxError, ValueError, Image.DecompressionBombError) as exc:  # UnidentifiedImageError is an OSError
        raise DataError(f"{path}: cannot decode image ({exc})") from None
    if image.format == "JPEG" and image.mode in ("L", "RGB", "CMYK"):  # 8-bit: nothing for to_8bit to scale
        try:
            preprocess.check_declared_size(image.size, path)
        except preprocess.ImageReadError as exc:
            image.close()
            raise DataError(str(exc)) from None
        return image
    image.close()
    return read_image(path)


def _images_in(folder: Path) -> list[str]:
    return sorted(str(p) for p in folder.iterdir() if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES)


def image_folder(root: Path) -> Dataset:
    train_dir, val_dir = root / "train", root / "val"
    for split in (train_dir, val_dir):
        if not split.is_dir():
            raise DataError(f"{root}: no '{split.name}/' folder; expected {root}/train/<class>/*.png and "
                            f"{root}/val/<class>/*.png (the ImageNet layout)")
    classes = tuple(sorted(p.name for p in train_dir.iterdir() if p.is_dir()))
    if not classes:
        raise DataError(f"{train_dir}: no class folders (expected {train_dir}/<class>/*.png)")
    stray = sorted(p.name for p in val_dir.iterdir() if p.is_dir() and p.name not in classes)
    if stray:
        raise DataError(f"{val_dir}: class folders not in train/: {', '.join(stray[:5])}")
    splits = []
    for split_dir in (train_dir, val_dir):
        items, labels = [], []
        for label, name in enumerate(classes):
            folder = split_dir / name
            files = _images_in(folder) if folder.is_dir() else []
            if split_dir is train_dir and not files:
                raise DataError(f"{folder}: no images ({', '.join(sorted(IMAGE_SUFFIXES))})")
            items += files
            labels += [label] * len(files)
        if not items:
            raise DataError(f"{split_dir}: no images in any class folder")
        splits.append(Split(items, labels, open_image if split_dir is train_dir else read_image, classes))
    return Dataset(str(root), classes, splits[0], splits[1], IMAGENET, (1, 3), None)


# --- digits --------------------------------------------------------------------------------------

def _digit_image(pixels: np.ndarray) -> Image.Image:
    return Image.fromarray((pixels.reshape(8, 8) * (255.0 / 16.0)).round().astype(np.uint8), mode="L")


def stratified_split_indices(labels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Stratified and RNG-free: within each class, every fifth image is validation."""
    val = np.zeros(len(labels), dtype=bool)
    for c in np.unique(labels):
        members = np.flatnonzero(labels == c)
        val[members[4::5]] = True
    return np.flatnonzero(~val), np.flatnonzero(val)


def digits() -> Dataset:
    with gzip.open(DIGITS_FILE, "rt") as f:
        table = np.loadtxt(f, delimiter=",", dtype=np.float32)
    pixels, labels = table[:, :64], table[:, 64].astype(np.int64)
    train_idx, val_idx = stratified_split_indices(labels)
    classes = tuple(str(i) for i in range(10))
    splits = [Split(list(pixels[idx]), labels[idx].tolist(), _digit_image, classes) for idx in (train_idx, val_idx)]
    return Dataset("digits", classes, splits[0], splits[1], DIGITS_NORM, (1, 3), (8, 8))


# --- animals -------------------------------------------------------------------------------------

def _grey_image(pixels: np.ndarray) -> Image.Image:
    return Image.fromarray(pixels, mode="L")


def animals() -> Dataset:
    """Animal-MNIST 0.4 (MIT): 10 classes x 1,000 28x28 grey silhouettes, converted once into
    a plain .npz (spachc/data/README.md); read without unpickling."""
    with np.load(ANIMALS_FILE, allow_pickle=False) as archive:
        images, labels, classes = archive["images"], archive["labels"].astype(np.int64), archive["classes"]
    train_idx, val_idx = stratified_split_indices(labels)
    names = tuple(str(c) for c in classes)
    splits = [Split(list(images[idx]), labels[idx].tolist(), _grey_image, names) for idx in (train_idx, val_idx)]
    return Dataset("animals", names, splits[0], splits[1], ANIMALS_NORM, (1, 3), (28, 28))


# --- smaller copies, for quick studies and tests ---------------------------------------------------

def balanced_prefix(labels: Sequence[int], n: int) -> list[int]:
    """The first n positions of a split taken round-robin over the classes (in split order
    within each class), so any n keeps the classes as balanced as the split allows."""
    seen: dict[int, int] = {}
    rank = []
    for label in labels:
        rank.append(seen.get(int(label), 0))
        seen[int(label)] = rank[-1] + 1
    order = sorted(range(len(labels)), key=lambda i: (rank[i], int(labels[i])))
    return sorted(order[:n])


def limited(dataset: Dataset, train: int | None = None, val: int | None = None) -> Dataset:
    """The dataset with at most `train` training and `val` validation images (balanced over
    classes); its name records the limits, so run folders say what they trained on."""
    if train is None and val is None:
        return dataset
    splits = []
    for split, n in ((dataset.train, train), (dataset.val, val)):
        if n is None or n >= len(split):
            splits.append(split)
            continue
        keep = balanced_prefix(split.labels, n)
        splits.append(Split([split.items[i] for i in keep], [split.labels[i] for i in keep], split.reader,
                            split.classes))
    limits = ", ".join(f"{k} {n}" for k, n in (("train", train), ("val", val)) if n is not None)
    return Dataset(f"{dataset.name} [{limits}]", dataset.classes, splits[0], splits[1], dataset.norm,
                   dataset.channels, dataset.native_size)


# --- fitting a spec to the data ------------------------------------------------------------------

def check_fit(spec, dataset: Dataset) -> None:
    """Fail before training when the spec's classes or channels cannot fit the data."""
    size = f"{spec.input[0]}" if spec.input[0] == spec.input[1] else f"{spec.input[0]}x{spec.input[1]}"
    if spec.classes != len(dataset.classes):
        raise DataError(f"spec '{spec.name}' has classes {spec.classes} but {dataset.name} has "
                        f"{len(dataset.classes)} classes; fix it with --set classes={len(dataset.classes)}")
    if spec.channels not in dataset.channels:
        allowed = " or ".join(map(str, dataset.channels))
        raise DataError(f"spec '{spec.name}' takes {spec.channels}-channel input but {dataset.name} images "
                        f"convert to {allowed} channels; fix it with --set \"input={size} channels 3\"")


# --- sampling ---------------------------------------------------------------------------------

def sample_seed(seed: int, epoch: int, position: int) -> int:
    """A 63-bit seed for one sample of one epoch, independent of workers and ranks."""
    mixed = np.random.SeedSequence([seed, epoch, position]).generate_state(2, dtype=np.uint32)
    return int(mixed[0]) << 31 ^ int(mixed[1])


class EpochSampler:
    """The batches one rank sees in one epoch, as lists of (index, sample seed).

    The order is a permutation fixed by (seed, epoch); with repeated augmentation each
    image appears `repeats` times in a row and the copies go to different ranks (DeiT's
    RASampler). Every rank gets the same number of samples (the list wraps around), and
    `start_step` skips batches already trained, for exact resume mid-epoch.
    """

    def __init__(self, size: int, batch_size: int, seed: int, epoch: int, rank: int = 0, world: int = 1,
                 repeats: int = 1, shuffle: bool = True, start_step: int = 0, drop_last: bool = True):
        self.batch_size, self.start_step, self.drop_last = batch_size, start_step, drop_last
        if shuffle:
            order = np.random.default_rng([seed, epoch, 0x5A3]).permutation(size)
        else:
            order = np.arange(size)
        order = np.repeat(order, repeats)
        per_rank = math.ceil(size / world) if shuffle else math.ceil(len(order) / world)
        total = per_rank * world
        padded = np.resize(order, max(total, len(order)))  # wraps around to fill
        positions = np.arange(len(padded))
        mine = slice(rank, total, world)
        self.indices = padded[mine][:per_rank]
        self.positions = positions[mine][:per_rank]
        self.seed, self.epoch = seed, epoch

    @property
    def steps(self) -> int:
        n = len(self.indices)
        return n // self.batch_size if self.drop_last else math.ceil(n / self.batch_size)

    def __len__(self) -> int:
        return max(0, self.steps - self.start_step)

    def __iter__(self) -> Iterator[list[tuple[int, int]]]:
        for step in range(self.start_step, self.steps):
            batch = slice(step * self.batch_size, (step + 1) * self.batch_size)
            yield [(int(i), sample_seed(self.seed, self.epoch, int(p)))
                   for i, p in zip(self.indices[batch], self.positions[batch])]


class Unreadable(NamedTuple):
    """An image that could not be read, in place of a sample: the batch goes on without it."""

    message: str


def collate_readable(samples: list):
    """(images, labels, messages of the unreadable samples); images and labels are None when no
    sample of the batch could be read. One bad file never aborts hours of training."""
    from torch.utils.data import default_collate

    good = [s for s in samples if not isinstance(s, Unreadable)]
    bad = [s.message for s in samples if isinstance(s, Unreadable)]
    images, labels = default_collate(good) if good else (None, None)
    return images, labels, bad


class TransformedSplit:
    """Map-style dataset over a Split whose keys are (index, sample seed). With `skip_unreadable`,
    an image that cannot be read is an Unreadable (for collate_readable) instead of a DataError."""

    def __init__(self, split: Split, transform, skip_unreadable: bool = False):
        self.split, self.transform, self.skip_unreadable = split, transform, skip_unreadable

    def __len__(self) -> int:
        return len(self.split)

    def __getitem__(self, key: tuple[int, int]):
        index, seed = key
        try:  # a training JPEG is only opened here and decoded by the transform (decode_for_crop)
            return self.transform(self.split.image(index), seed), self.split.labels[index]
        except DataError as exc:
            if not self.skip_unreadable:
                raise
            return Unreadable(str(exc))


class EvalShard:
    """Validation images of one rank: a strided slice, no padding, so sums over ranks are exact.
    `skip_unreadable` as in TransformedSplit."""

    def __init__(self, split: Split, transform, rank: int = 0, world: int = 1, skip_unreadable: bool = False):
        self.split, self.transform, self.skip_unreadable = split, transform, skip_unreadable
        self.indices = list(range(rank, len(split), world))

    def __len__(self) -> int:
        return len(self.indices)

    def __getitem__(self, i: int):
        index = self.indices[i]
        try:
            image = self.split.image(index)
        except DataError as exc:
            if not self.skip_unreadable:
                raise
            return Unreadable(str(exc))
        return self.transform(image), self.split.labels[index]


# --- what a run records about its data, so that a resume can check it is the same --------------

def data_location(dataset: Dataset) -> str:
    """An image folder's absolute path (however it was spelled); a built-in's name."""
    path = Path(dataset.name)
    return str(path.resolve()) if path.is_dir() else dataset.name


def data_fingerprint(dataset: Dataset) -> str:
    """Class names and the image count of every class in both splits, as canonical JSON text."""
    import json

    def counts(split: Split) -> list[int]:
        per_class = np.bincount(np.asarray(split.labels, dtype=np.int64), minlength=len(dataset.classes))
        return [int(n) for n in per_class]

    return json.dumps({"classes": list(dataset.classes), "train": counts(dataset.train), "val": counts(dataset.val)},
                      sort_keys=True)


def fingerprint_difference(recorded: str, now: str) -> str | None:
    """What changed between two fingerprints, in words (None: nothing)."""
    import json

    if recorded == now:
        return None
    try:
        old, new = json.loads(recorded), json.loads(now)
    except ValueError:
        return "its fingerprint is unreadable"
    if old.get("classes") != new["classes"]:
        return f"classes {old.get('classes')} then, {new['classes']} now"
    for split in ("train", "val"):
        if old.get(split) != new[split]:
            return (f"{split} images per class {old.get(split)} then ({sum(old.get(split) or [])} in all), "
                    f"{new[split]} now ({sum(new[split])} in all)")
    return "its fingerprint differs"


# --- a spec far larger than the data's images --------------------------------------------------

UPSAMPLING_WARN_FACTOR = 4  # a spec side more than this many times the images' side is warned about
SIZE_SAMPLE = 16  # training images whose headers give an image folder's typical size


def typical_size(dataset: Dataset) -> tuple[int, int] | None:
    """(h, w) of the training images: a built-in's fixed size, or the median over a few image
    headers spread across an image folder (read without decoding)."""
    if dataset.native_size is not None:
        return dataset.native_size
    items = dataset.train.items
    if not items or not isinstance(items[0], str):
        return None
    sizes = []
    for i in np.unique(np.linspace(0, len(items) - 1, num=min(SIZE_SAMPLE, len(items))).round().astype(int)):
        try:
            with Image.open(items[int(i)]) as image:
                sizes.append(image.size)
        except Exception:  # noqa: BLE001 - an unreadable image is skipped in training too; not this check's business
            continue
    if not sizes:
        return None
    return int(np.median([h for _, h in sizes])), int(np.median([w for w, _ in sizes]))


def upsampling_warning(spec, dataset: Dataset):
    """W1250 when the spec's input is far larger than the data's images: every image is upsampled
    (work for no information: 28x28 images at 224 train at a tenth of the speed)."""
    from ..diagnostics import warning_at
    from ..lang.sizes import total_stride

    size = typical_size(dataset)
    if size is None:
        return None
    (h, w), (spec_h, spec_w) = size, spec.input
    if spec_h <= UPSAMPLING_WARN_FACTOR * h and spec_w <= UPSAMPLING_WARN_FACTOR * w:
        return None
    stride = total_stride(spec)
    fit = max(stride, -(-max(h, w) // stride) * stride)
    return warning_at(W1250, f"spec '{spec.name}' takes {spec_h}x{spec_w} input but the images of {dataset.name} "
                      f"are {h}x{w}: each is upsampled {spec_h * spec_w / (h * w):.0f}-fold in pixels, which costs "
                      "time and adds no information", None,
                      hint=f"train at the data's size: --set input={fit}")
