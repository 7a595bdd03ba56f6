"""Write a data set out as an image-folder tree of PNG files (`train/<class>/*.png`,
`val/<class>/*.png`): the layout `open_dataset(path)` reads, so any data set - a built-in,
a smaller copy (`limited`), a folder of JPEGs - can be looked at, shared or edited as files.

PNG is lossless, so the folder reopens to the same pixels and labels. The tree is written
into a hidden sibling folder and renamed into place at the end: an interrupted write leaves
no half-written data set under the name asked for.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path


from .data import SPLITS, Dataset, DataError
from ..diagnostics.codes import E1431, E1432, E1433

PNG_MODES = {"1", "L", "LA", "P", "RGB", "RGBA", "I;16"}  # stored as they are; others as RGB


class FolderNotEmpty(DataError):
    """write_image_folder's target exists and holds something (it never mixes data sets)."""

    code = E1431


class BadClassName(DataError):
    """A class name that cannot name a folder, or two classes of one name."""

    code = E1432


class FolderWriteFailed(DataError):
    """The image folder could not be written (permissions, a full disk)."""

    code = E1433


def _check_class_names(classes: tuple[str, ...], name: str) -> None:
    for c in classes:
        if c in ("", ".", "..") or any(ch in c for ch in "/\\\0") or c != c.strip():
            raise BadClassName(f"{name}: class name {c!r} cannot name a folder",
                               hint="rename the class (no slashes, no leading or trailing spaces, not '.' or '..')")
    if len(set(classes)) != len(classes):
        twice = sorted({c for c in classes if classes.count(c) > 1})
        raise BadClassName(f"{name}: class name(s) {', '.join(map(repr, twice))} used twice; one folder per class",
                           hint="give every class its own name")


def write_image_folder(dataset: Dataset, root: str | os.PathLike, splits: tuple[str, ...] = SPLITS) -> Path:
    """Write `splits` of `dataset` as `root/<split>/<class>/<n>.png` (n: the image's position in
    its split, zero-padded, so file order is split order) and return `root`. `root` must not
    exist or be an empty directory (E1431). Images in a mode PNG cannot store (CMYK, float)
    are written as RGB."""
    root = Path(root)
    for split in splits:
        dataset.split(split)  # E1430 for a name that is no split, before anything is written
    _check_class_names(tuple(dataset.classes), dataset.name)
    if root.exists() and not (root.is_dir() and not any(root.iterdir())):
        raise FolderNotEmpty(f"{root}: already exists and is not an empty folder; not written",
                             hint="choose a new folder, or empty this one first")
    partial = root.parent / f".{root.name}.partial-{os.getpid()}"
    try:
        shutil.rmtree(partial, ignore_errors=True)
        for split in splits:
            _write_split(dataset, split, partial / split)
        if root.exists():
            root.rmdir()  # empty (checked above): the rename takes its place
        partial.rename(root)
    except OSError as exc:
        shutil.rmtree(partial, ignore_errors=True)
        raise FolderWriteFailed(f"{root}: cannot write the image folder ({exc.strerror or exc})",
                                hint="check the folder's permissions and free space") from None
    except BaseException:
        shutil.rmtree(partial, ignore_errors=True)
        raise
    return root


def _write_split(dataset: Dataset, split: str, folder: Path) -> None:
    source = dataset.split(split)
    for name in dataset.classes:
        (folder / name).mkdir(parents=True, exist_ok=True)
    width = max(5, len(str(len(source) - 1)))
    for i, (image, label) in enumerate(source):
        with image:
            out = image if image.mode in PNG_MODES else image.convert("RGB")
            out.save(folder / dataset.classes[label] / f"{i:0{width}d}.png", format="PNG")
