"""Hostile inputs shared by the unit tests and the commands' tests: a PNG that declares a bomb's
size, a folder of good and bad images (a fixture: import `images` to use it), and files that
are not specs at all with the diagnostic each must get."""

from __future__ import annotations

import struct
import zlib

import numpy as np
import pytest
from PIL import Image


def png_declaring(path, width: int, height: int) -> None:
    """A small valid PNG whose header then claims another size (CRC fixed): a decompression bomb."""
    Image.new("L", (8, 8)).save(path)
    data = bytearray(path.read_bytes())
    ihdr = data.index(b"IHDR")
    data[ihdr + 4:ihdr + 12] = struct.pack(">II", width, height)
    data[ihdr + 17:ihdr + 21] = struct.pack(">I", zlib.crc32(bytes(data[ihdr:ihdr + 17])))
    path.write_bytes(bytes(data))


@pytest.fixture(scope="module")
def images(tmp_path_factory):
    root = tmp_path_factory.mktemp("images")
    folder = root / "pics"
    folder.mkdir()
    rng = np.random.default_rng(0)
    for i in range(3):
        Image.fromarray(rng.integers(0, 255, (20, 20), dtype=np.uint8)).save(folder / f"good{i}.png")
    whole = (folder / "good0.png").read_bytes()
    (folder / "truncated.png").write_bytes(whole[:len(whole) // 2])
    (folder / "text.png").write_text("not an image")
    png_declaring(folder / "bomb.png", 50_000, 50_000)
    Image.new("L", (2_000_000, 1)).save(folder / "strip.png")  # 2 KB on disk
    return root, folder


def spec_cases(tmp_path):
    """name -> (path, code, message) of inputs that are not specs."""
    empty = tmp_path / "empty.spach"
    empty.write_text("")
    comments = tmp_path / "comments.spach"
    comments.write_text("# nothing but a comment\n\n")
    binary = tmp_path / "junk.spach"
    binary.write_bytes(bytes(range(256)) * 4)
    latin1 = tmp_path / "latin1.spach"
    latin1.write_bytes("model caf\u00e9\ninput 32\n".encode("latin-1"))
    huge = tmp_path / "huge.spach"
    huge.write_text("# padding\n" * 1_100_000)
    folder = tmp_path / "folder.spach"
    folder.mkdir()
    return {
        "empty": (empty, "E002", "the spec is empty"),
        "comments only": (comments, "E002", "the spec is empty"),
        "binary": (binary, "E005", "binary file"),
        "not utf-8": (latin1, "E001", "not valid UTF-8 (byte 0xe9)"),
        "10 MB": (huge, "E003", "spec is 11,000,000 bytes; the limit is 1,000,000"),
        "directory": (folder, "E004", "is a directory"),
    }
