"""The checksum a spachc weights file carries, computed and verified without torch.

Scheme 1 (files of spachc before this module): sha256 over each tensor's name, dtype, shape
and bytes, in name order. It says nothing of the metadata, so a swapped `spachc.aliases`
entry substituted one tensor for another undetected.
Scheme 2 (written now, named by the `spachc.checksum_scheme` key): sha256 over scheme 1's
digest and every metadata entry but the checksum itself (aliases, spec, preprocessing,
labels, ...), so any edit of what spachc reads is caught. Old files keep verifying by
scheme 1. Verification streams the file's bytes, so a damaged file is refused before any
tensor is allocated.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from .header import TORCH_DTYPE_NAMES, Header
from .metadata import CHECKSUM, CHECKSUM_SCHEME

SCHEME = "2"
SCHEMES = ("1", "2")
_CHUNK = 1 << 20


def tensor_line(name: str, torch_dtype: str, shape) -> bytes:
    """What scheme 1 hashes before a tensor's bytes (shared by the writer, which has tensors)."""
    return f"{name}|{torch_dtype}|{list(shape)}\n".encode()


def tensors_digest_of_file(path: str | Path, header: Header) -> str:
    """Scheme 1's digest, from the file's bytes (streamed)."""
    digest = hashlib.sha256()
    with Path(path).open("rb") as f:
        for entry in sorted(header.tensors, key=lambda t: t.name):
            digest.update(tensor_line(entry.name, TORCH_DTYPE_NAMES[entry.dtype], entry.shape))
            f.seek(header.data_start + entry.start)
            left = entry.end - entry.start
            while left:
                chunk = f.read(min(left, _CHUNK))
                if not chunk:
                    break
                digest.update(chunk)
                left -= len(chunk)
    return digest.hexdigest()


def metadata_digest(tensors_digest: str, metadata: dict[str, str]) -> str:
    """Scheme 2: the tensor digest and every metadata entry except the checksum's own."""
    covered = {k: v for k, v in metadata.items() if k != CHECKSUM}
    text = json.dumps(covered, sort_keys=True, ensure_ascii=True, separators=(",", ":"))
    return hashlib.sha256(f"spachc-weights-v2\n{tensors_digest}\n{text}".encode()).hexdigest()


def checksum(tensors_digest: str, metadata: dict[str, str]) -> str:
    """The value of CHECKSUM for a file being written (scheme SCHEME; `metadata` holds
    CHECKSUM_SCHEME already)."""
    return metadata_digest(tensors_digest, metadata)


def verify(path: str | Path, header: Header) -> str | None:
    """None when the file's checksum holds (or it has none: files of spachc 0.1); else what is
    wrong, in words. The caller raises its coded error."""
    metadata = header.metadata
    if CHECKSUM not in metadata:
        return None
    scheme = metadata.get(CHECKSUM_SCHEME, "1")
    if scheme not in SCHEMES:
        return f"unknown checksum scheme '{scheme[:20]}' (this spachc knows {', '.join(SCHEMES)})"
    digest = tensors_digest_of_file(path, header)
    expected = digest if scheme == "1" else metadata_digest(digest, metadata)
    if expected != metadata[CHECKSUM]:
        covered = "tensor data" if scheme == "1" else "tensor data or metadata (spec, aliases, preprocessing, labels)"
        return f"its {covered} does not match the checksum written with it: the file is corrupted or was edited"
    return None
