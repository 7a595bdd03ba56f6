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

from ..diagnostics import UserError

MAX_HEADER_BYTES = 100 * 2**20
MAX_TENSORS = 100_000  # far above any spec's state_dict; a header naming more is not one of ours
MAX_DIMS = 8

# The torch dtype each safetensors dtype reads as (its str() names it in the tensor checksum).
TORCH_DTYPE_NAMES = {"F64": "torch.float64", "F32": "torch.float32", "F16": "torch.float16", "BF16": "torch.bfloat16",
                     "I64": "torch.int64", "I32": "torch.int32", "I16": "torch.int16", "I8": "torch.int8",
                     "U8": "torch.uint8", "BOOL": "torch.bool", "F8_E4M3": "torch.float8_e4m3fn",
                     "F8_E5M2": "torch.float8_e5m2", "U16": "torch.uint16", "U32": "torch.uint32",
                     "U64": "torch.uint64"}
FLOAT_DTYPES = {"F64", "F32", "F16", "BF16", "F8_E4M3", "F8_E5M2"}

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
    except RecursionError:
        raise SafetensorsFileError(f"{path}: corrupted header: JSON nested too deeply to be a safetensors header",
                                   code="E825") from None
    if not isinstance(data, dict):
        raise SafetensorsFileError(f"{path}: corrupted header: not a JSON object")
    metadata = data.pop("__metadata__", None) or {}
    if not isinstance(metadata, dict):
        raise SafetensorsFileError(f"{path}: corrupted header: __metadata__ must map names to strings", code="E823")
    wrong = next((key for key, value in metadata.items() if not isinstance(value, str)), None)
    if wrong is not None:
        raise SafetensorsFileError(f"{path}: corrupted header: __metadata__ entry '{wrong[:80]}' is a "
                                   f"{type(metadata[wrong]).__name__}, not a string", code="E823")
    if len(data) > MAX_TENSORS:
        raise SafetensorsFileError(f"{path}: corrupted header: {len(data):,} tensors (at most {MAX_TENSORS:,})",
                                   code="E825")
    tensors = tuple(sorted((_entry(path, name, info) for name, info in data.items()), key=lambda t: t.start))
    for before, after in zip(tensors, tensors[1:]):
        if after.start < before.end:
            raise SafetensorsFileError(f"{path}: corrupted header: tensors '{before.name}' and '{after.name}' "
                                       "overlap in the file")
    data_start = 8 + length
    needed = data_start + max((t.end for t in tensors), default=0)
    if size < needed:
        raise SafetensorsFileError(f"{path}: truncated: {size:,} bytes, but its header places tensor data "
                                   f"up to byte {needed:,}")
    return Header(metadata, tensors, data_start, size)


def _is_count(value: object) -> bool:
    """A JSON integer >= 0 (not a bool, a float or a string)."""
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def _entry(path: Path, name: str, info: object) -> TensorEntry:
    """One tensor's entry, every field of the type the format says: a bad one is a coded error
    (E823), never a TypeError from deeper down."""
    if not isinstance(info, dict) or set(info) != {"dtype", "shape", "data_offsets"}:
        raise SafetensorsFileError(f"{path}: corrupted header: entry '{name[:80]}' must be an object with exactly "
                                   "dtype, shape and data_offsets", code="E823")
    dtype, shape, offsets = info["dtype"], info["shape"], info["data_offsets"]
    if (not isinstance(dtype, str) or not isinstance(shape, list) or len(shape) > MAX_DIMS
            or not all(_is_count(s) for s in shape) or not isinstance(offsets, list) or len(offsets) != 2
            or not all(_is_count(o) for o in offsets)):
        raise SafetensorsFileError(f"{path}: corrupted header: entry '{name[:80]}' has a dtype, shape or data_offsets "
                                   "of the wrong type (a string; a list of at most 8 counts; two byte offsets)",
                                   code="E823")
    start, end = offsets
    entry = TensorEntry(name, dtype, tuple(shape), start, end)
    width = DTYPE_BYTES.get(entry.dtype)
    if width is None:
        raise SafetensorsFileError(f"{path}: corrupted header: tensor '{name[:80]}' has unknown dtype '{dtype[:20]}'")
    if end < start or (end - start) != entry.numel * width:
        raise SafetensorsFileError(f"{path}: corrupted header: tensor '{name}' ({entry.dtype}{list(entry.shape)}) "
                                   f"does not fit its byte range {start}..{end}")
    return entry
