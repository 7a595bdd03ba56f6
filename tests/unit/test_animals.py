"""The built-in `animals` dataset: shipped as a plain .npz (no pickle), split like digits, and
the converter's unpickler admits numpy arrays and nothing else."""

from __future__ import annotations

import io
import os
import pickle

import numpy as np
import pytest

from spachc.data.convert_animals import ArrayOnlyUnpickler, load_array
from spachc.datasets.data import ANIMALS_FILE, animals, balanced_prefix, limited, open_dataset


def test_animals_is_ten_balanced_classes_of_28x28_grey_images_split_four_to_one():
    with np.load(ANIMALS_FILE, allow_pickle=False) as archive:  # no object arrays inside
        images, labels = archive["images"], archive["labels"]
    assert images.shape == (10000, 28, 28) and images.dtype == np.uint8
    assert np.bincount(labels).tolist() == [1000] * 10
    data = open_dataset("animals")
    assert data.classes == ("bear", "bird", "cat", "cow", "dog", "elephant", "giraffe", "horse", "sheep", "zebra")
    assert len(data.train) == 8000 and len(data.val) == 2000
    assert np.bincount(data.val.labels).tolist() == [200] * 10
    # Within each class, positions 4, 9, 14, ... are validation: the first val image is file image 4.
    assert np.array_equal(np.asarray(data.val.image(0)), images[4]) and data.val.labels[0] == labels[4]
    assert np.array_equal(np.asarray(data.train.image(4)), images[5])
    image = data.train.image(0)
    assert image.mode == "L" and image.size == (28, 28) and data.native_size == (28, 28)
    pixels = images.astype(np.float64) / 255
    assert data.norm.mean[0] == pytest.approx(pixels.mean(), abs=1e-4)
    assert data.norm.std[0] == pytest.approx(pixels.std(), abs=1e-4)


def test_limited_copies_stay_balanced_and_name_their_limits():
    data = limited(animals(), train=95, val=30)
    assert data.name == "animals [train 95, val 30]"
    assert len(data.train) == 95 and sorted(np.bincount(data.train.labels).tolist()) == [9] * 5 + [10] * 5
    assert np.bincount(data.val.labels).tolist() == [3] * 10
    assert balanced_prefix([0, 0, 0, 1, 1, 2], 4) == [0, 1, 3, 5]


def test_the_converter_unpickles_numpy_arrays_only():
    array = np.arange(12, dtype=np.uint8).reshape(3, 4)
    assert np.array_equal(load_array(pickle.dumps(array, protocol=4)), array)

    class Evil:
        def __reduce__(self):
            return (os.system, ("echo pwned",))

    with pytest.raises(pickle.UnpicklingError, match="refused: the pickle asks for (posix|os).system"):
        ArrayOnlyUnpickler(io.BytesIO(pickle.dumps(Evil()))).load()
    with pytest.raises(pickle.UnpicklingError, match="does not hold a plain numeric array"):
        load_array(pickle.dumps(np.array([{"a": 1}], dtype=object)))
