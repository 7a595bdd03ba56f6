"""The public spachc.datasets: open a built-in or a folder, iterate images and labels, write
one out as PNG class folders and read it back to the same labels and pixels."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

import spachc.datasets as datasets
from spachc.datasets import DataError, open_dataset, write_image_folder


def test_open_a_builtin_and_iterate_its_images_and_labels():
    data = open_dataset("digits")
    assert data.classes == tuple(str(i) for i in range(10))
    assert (len(data.train), len(data.val)) == (1442, 355)  # 1,797 digits, every fifth of a class held out
    pairs = list(data.val)
    assert len(pairs) == 355
    image, label = pairs[0]
    assert isinstance(image, Image.Image) and image.size == (8, 8) and image.mode == "L"
    assert isinstance(label, int) and [lab for _, lab in pairs] == list(data.val.labels)


def test_open_one_split_alone_knows_its_class_names():
    val = open_dataset("animals", split="val")
    assert isinstance(val, datasets.Split) and len(val) == 2000
    assert val.classes == open_dataset("animals").classes and len(val.classes) == 10
    image, label = next(iter(val))
    assert image.size == (28, 28) and 0 <= label < 10


def test_an_unknown_split_is_a_coded_error_with_a_hint():
    with pytest.raises(DataError) as caught:
        open_dataset("digits", split="test")
    assert caught.value.code == "E1430" and "split='val'" in caught.value.hint
    with pytest.raises(DataError, match="no split 'tests'"):
        open_dataset("digits").split("tests")


def _pixels_by_position(split) -> dict[int, tuple[str, np.ndarray]]:
    """A written split's images keyed by the position in the source split their names give."""
    return {int(Path(item).stem): (split.classes[label], np.asarray(split.image(i)))
            for i, (item, label) in enumerate(zip(split.items, split.labels))}


@pytest.mark.parametrize("name, limits", [("digits", {}), ("animals", {"train": 60, "val": 30})])
def test_a_written_image_folder_reopens_to_the_same_labels_and_pixels(tmp_path, name, limits):
    source = datasets.limited(open_dataset(name), **limits)
    root = write_image_folder(source, tmp_path / "png")
    assert root == tmp_path / "png" and sorted(p.name for p in root.iterdir()) == ["train", "val"]
    again = open_dataset(root)  # a Path works as well as a str
    assert sorted(again.classes) == sorted(source.classes)  # folders sort by name; animals' labels do not
    for split in ("train", "val"):
        original, written = source.split(split), _pixels_by_position(again.split(split))
        assert sorted(written) == list(range(len(original)))
        for i, (image, label) in enumerate(original):
            class_name, pixels = written[i]
            assert class_name == source.classes[label]
            assert np.array_equal(pixels, np.asarray(image))
    assert not list(tmp_path.glob(".png.partial-*"))  # written aside, then renamed into place


def test_an_rgb_folder_round_trips_too(tmp_path):
    rng = np.random.default_rng(1)
    for split, count in (("train", 3), ("val", 2)):
        for c in ("cat", "dog"):
            folder = tmp_path / "src" / split / c
            folder.mkdir(parents=True)
            for i in range(count):
                Image.fromarray(rng.integers(0, 256, (5 + i, 7, 3), dtype=np.uint8)).save(folder / f"{i}.png")
    source = open_dataset(tmp_path / "src")
    again = open_dataset(write_image_folder(source, tmp_path / "out"))
    for split in ("train", "val"):
        written = _pixels_by_position(again.split(split))
        for i, (image, label) in enumerate(source.split(split)):
            assert written[i][0] == source.classes[label]
            assert written[i][1].shape[2] == 3 and np.array_equal(written[i][1], np.asarray(image))


def test_writing_into_a_folder_that_holds_something_is_refused_and_leaves_it_alone(tmp_path):
    data = datasets.limited(open_dataset("digits"), train=10, val=10)
    (tmp_path / "busy").mkdir()
    (tmp_path / "busy" / "notes.txt").write_text("mine")
    with pytest.raises(DataError) as caught:
        write_image_folder(data, tmp_path / "busy")
    assert caught.value.code == "E1431" and caught.value.hint
    assert [p.name for p in (tmp_path / "busy").iterdir()] == ["notes.txt"]
    (tmp_path / "empty").mkdir()
    assert (write_image_folder(data, tmp_path / "empty") / "val").is_dir()  # an empty folder is fine


@pytest.mark.parametrize("classes, words", [(("a/b",) + tuple("123456789"), "cannot name a folder"),
                                            (("..",) + tuple("123456789"), "cannot name a folder"),
                                            (("x", "x") + tuple("23456789"), "used twice")])
def test_class_names_that_cannot_be_folders_are_refused_before_writing(tmp_path, classes, words):
    data = dataclasses.replace(datasets.limited(open_dataset("digits"), train=10, val=10), classes=classes)
    with pytest.raises(DataError, match=words) as caught:
        write_image_folder(data, tmp_path / "out")
    assert caught.value.code == "E1432" and not (tmp_path / "out").exists()


def test_a_folder_that_cannot_be_written_is_a_coded_error(tmp_path):
    (tmp_path / "file").write_text("not a folder")
    data = datasets.limited(open_dataset("digits"), train=10, val=10)
    with pytest.raises(DataError) as caught:
        write_image_folder(data, tmp_path / "file" / "out")
    assert caught.value.code == "E1433" and "cannot write" in str(caught.value)


