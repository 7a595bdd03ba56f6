"""Mutations of image files for the image fuzzers: the quick one in tests/unit/test_hostile_images.py
and the long one in benchmarks/fuzz_robust.py."""

from __future__ import annotations

import random
import struct
import zlib


def mutate(data: bytes, rng: random.Random) -> bytes:
    """One of: bit flips, a truncation, a run of one byte, a PNG header declaring another size
    (its CRC fixed, so the size is believed), or inserted bytes."""
    data = bytearray(data)
    kind = rng.randrange(5)
    if kind == 0:
        for _ in range(rng.randint(1, 16)):
            bit = rng.randrange(len(data) * 8)
            data[bit // 8] ^= 1 << (bit % 8)
    elif kind == 1:
        data = data[:rng.randrange(len(data))]
    elif kind == 2:
        at = rng.randrange(len(data))
        data[at:at + rng.randint(1, 64)] = bytes([rng.randrange(256)]) * rng.randint(1, 64)
    elif kind == 3 and b"IHDR" in data:
        ihdr = data.index(b"IHDR")
        sizes = [0, 1, 2, 3, 2 ** 31 - 1, 2 ** 32 - 1, rng.randrange(1 << 24)]
        data[ihdr + 4:ihdr + 12] = struct.pack(">II", rng.choice(sizes), rng.choice(sizes))
        data[ihdr + 17:ihdr + 21] = struct.pack(">I", zlib.crc32(bytes(data[ihdr:ihdr + 17])))
    else:
        at = rng.randrange(len(data))
        data[at:at] = bytes(rng.randrange(256) for _ in range(rng.randint(1, 32)))
    return bytes(data)
