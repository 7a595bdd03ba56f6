"""Reading a safetensors header without torch: what a file holds, and whether it is whole.

The format is an 8-byte little-endian header length, a JSON header naming each tensor's
dtype, shape and byte range, then the data. A file shorter than its header promises was
truncated; we say so in those words instead of passing on a library's error code.
"""

from __future__ import annotations

import json
import struct
from dataclasses import dataclass
from pathlib import Path

from ..lang.diagnostics import UserError

MAX_HEADER_BYTES = 100 * 2**20

DTYPE_BYTES = {"F64": 8, "F32": 4, "F16": 2, "BF16": 2, "I64": 8, "I32": 4, "I16": 2, "I8": 1, "U8": 1,
               "BOOL": 1, "F8_E4M3": 1, "F8_E5M2": 1, "U16": 2, "U32": 4, "U64": 8}


class SafetensorsFileError(UserError):
    """A file that is not a whole, well-formed safetensors file; the message names it."""

    code = "E812"


@dataclass(frozen=True)
class TensorEntry:
    name: str
    dtype: str
    shape: tuple[int, ...]
    start: int
    end: int

    @property
    def numel(self) -> int:
        n = 1
        for s in self.shape:
            n *= s
        return n


@dataclass(frozen=True)
class Header:
    metadata: dict[str, str]
    tensors: tuple[TensorEntry, ...]
    data_start: int
    file_size: int


def read_header(path: str | Path) -> Header:
    """Parse and check the header of `path`: sizes, byte ranges and the file's length."""
    path = Path(path)
    if not path.is_file():
        raise SafetensorsFileError(f"{path}: no such file", code="E811")
    size = path.stat().st_size
    with path.open("rb") as f:
        prefix = f.read(8)
        if len(prefix) < 8:
            raise SafetensorsFileError(f"{path}: truncated: {size} bytes, too short for a safetensors header")
        (length,) = struct.unpack("<Q", prefix)
        if length > MAX_HEADER_BYTES:
            raise SafetensorsFileError(f"{path}: not a safetensors file (its header would be {length:,} bytes)")
        raw = f.read(length)
    if len(raw) < length:
        raise SafetensorsFileError(f"{path}: truncated: {size:,} bytes, but its header alone needs {8 + length:,}")
    try:
        data = json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise SafetensorsFileError(f"{path}: corrupted header: not valid JSON ({exc})") from None
    if not isinstance(data, dict):
        raise SafetensorsFileError(f"{path}: corrupted header: not a JSON object")
    metadata = data.pop("__metadata__", None) or {}
    if not isinstance(metadata, dict) or not all(isinstance(v, str) for v in metadata.values()):
        raise SafetensorsFileError(f"{path}: corrupted header: __metadata__ must map names to strings")
    tensors = tuple(sorted((_entry(path, name, info) for name, info in data.items()), key=lambda t: t.start))
    data_start = 8 + length
    needed = data_start + max((t.end for t in tensors), default=0)
    if size < needed:
        raise SafetensorsFileError(f"{path}: truncated: {size:,} bytes, but its header places tensor data "
                                   f"up to byte {needed:,}")
    return Header(metadata, tensors, data_start, size)


def _entry(path: Path, name: str, info: object) -> TensorEntry:
    try:
        dtype, shape, (start, end) = info["dtype"], tuple(info["shape"]), info["data_offsets"]
    except (TypeError, KeyError, ValueError):
        raise SafetensorsFileError(f"{path}: corrupted header: entry '{name}' lacks dtype, shape or data_offsets") from None
    entry = TensorEntry(name, str(dtype), tuple(int(s) for s in shape), int(start), int(end))
    width = DTYPE_BYTES.get(entry.dtype)
    if width is None:
        raise SafetensorsFileError(f"{path}: corrupted header: tensor '{name}' has unknown dtype '{dtype}'")
    if end < start or (end - start) != entry.numel * width:
        raise SafetensorsFileError(f"{path}: corrupted header: tensor '{name}' ({entry.dtype}{list(entry.shape)}) "
                                   f"does not fit its byte range {start}..{end}")
    return entry
