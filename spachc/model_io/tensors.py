"""Weights on disk: safetensors files that carry their spec, so a file alone rebuilds its
model. Shared tensors (a shared mixer) are stored once and re-tied on load. Writes are
atomic: a reader never sees a half-written file under the final name.

Reading checks everything the header says BEFORE a tensor is allocated: the tensor names,
shapes and dtypes against what the spec builds (spachc/nn/build.skeleton, on the meta
device), then the checksum (spachc/model_io/integrity.py, streamed from the file). A header
that declares gigabytes the spec does not need is refused at the cost of reading the header.
"""

from __future__ import annotations

import json
import struct
from pathlib import Path

import torch
from safetensors import SafetensorError, safe_open
from safetensors.torch import save as safetensors_bytes

from .._version import __version__
from ..files.atomic import write_atomically  # noqa: F401  (re-exported: the one atomic writer)
from ..lang.ir import Spec
from ..lang.printer import to_text
from . import integrity
from .header import FLOAT_DTYPES, TORCH_DTYPE_NAMES, Header
from .kinds import model_file
from .metadata import ALIASES as META_ALIASES, CHECKSUM as META_CHECKSUM, CHECKSUM_SCHEME, DTYPE as META_DTYPE
from .metadata import SPEC as META_SPEC, SPEC_HASH as META_HASH, VERSION as META_VERSION
from .weights_header import WeightsError, aliases, read_metadata, read_weights_header, metadata_spec  # noqa: F401


def _dedupe(state: dict[str, torch.Tensor]) -> tuple[dict[str, torch.Tensor], dict[str, str]]:
    """Keep one name per tensor; map the other names to it."""
    kept: dict[str, torch.Tensor] = {}
    alias_table: dict[str, str] = {}
    owner: dict[tuple, str] = {}
    for name, tensor in state.items():
        ident = (tensor.untyped_storage().data_ptr(), tensor.storage_offset(), tuple(tensor.shape),
                 tuple(tensor.stride()), tensor.dtype)
        if tensor.numel() and ident in owner:
            alias_table[name] = owner[ident]
        else:
            owner[ident] = name
            kept[name] = tensor
    return kept, alias_table


def tensors_digest(tensors: dict[str, torch.Tensor]) -> str:
    """Checksum scheme 1: sha256 over names, dtypes, shapes and bytes (integrity.py streams
    the same digest from a file)."""
    import hashlib

    digest = hashlib.sha256()
    for name in sorted(tensors):
        t = tensors[name].detach().contiguous().cpu()
        digest.update(integrity.tensor_line(name, str(t.dtype), t.shape))
        digest.update(t.reshape(-1).view(torch.uint8).numpy().tobytes())
    return digest.hexdigest()


def weights_bytes(model: torch.nn.Module, spec: Spec, dtype: torch.dtype | None = None,
                  extra: dict[str, str] | None = None) -> bytes:
    return state_bytes(model.state_dict(), spec, dtype, extra)


def state_bytes(state: dict[str, torch.Tensor], spec: Spec, dtype: torch.dtype | None = None,
                extra: dict[str, str] | None = None) -> bytes:
    kept, alias_table = _dedupe(state)
    tensors = {}
    for name, t in kept.items():
        t = t.detach()
        if dtype is not None and t.is_floating_point():
            t = t.to(dtype)
        tensors[name] = t.contiguous().cpu()
    stored = next((t.dtype for t in tensors.values() if t.is_floating_point()), torch.float32)
    metadata = {
        META_SPEC: to_text(spec), META_HASH: spec.hash, META_VERSION: __version__,
        META_DTYPE: str(stored).removeprefix("torch."), META_ALIASES: json.dumps(alias_table, sort_keys=True),
        "format": "pt", **(extra or {}), CHECKSUM_SCHEME: integrity.SCHEME,
    }
    metadata[META_CHECKSUM] = integrity.checksum(tensors_digest(tensors), metadata)
    return reproducible(safetensors_bytes(tensors, metadata=metadata))


def reproducible(data: bytes) -> bytes:
    """The same file for the same weights and metadata: safetensors writes its metadata map in
    a per-process random order (a Rust HashMap), so the header is rewritten with its keys
    sorted, padded to its original length (the tensor offsets do not move)."""
    (length,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8:8 + length])
    if "__metadata__" in header:
        header["__metadata__"] = dict(sorted(header["__metadata__"].items()))
    text = json.dumps(header, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
    if len(text) > length:  # cannot happen for the compact JSON safetensors writes; keep its bytes then
        return data
    return data[:8] + text + b" " * (length - len(text)) + data[8 + length:]


def save_weights(model: torch.nn.Module, spec: Spec, path: str | Path, dtype: torch.dtype | None = None,
                 extra: dict[str, str] | None = None) -> None:
    write_atomically(path, weights_bytes(model, spec, dtype, extra))


def expected_tensors(spec: Spec) -> dict[str, torch.Tensor]:
    """What build(spec).state_dict() holds, as meta tensors (nothing allocated)."""
    from ..nn.build import skeleton

    return skeleton(spec).state_dict()


def check_header(spec: Spec, header: Header, alias_table: dict[str, str], origin: str) -> None:
    """The header's tensors (with their aliases) must be exactly what build(spec) has, shape
    and kind of dtype, before any of them is read (E816)."""
    expected = expected_tensors(spec)
    stored = {t.name: t for t in header.tensors}
    problems = []
    bad_alias = sorted(a for a, target in alias_table.items() if target not in stored or a in stored)
    if bad_alias:
        problems.append(f"shared tensor '{bad_alias[0][:80]}' points at a missing tensor or is stored itself")
    names = set(stored) | set(alias_table)
    missing = sorted(set(expected) - names)
    unexpected = sorted(names - set(expected))
    if missing:
        problems.append(f"missing tensors: {', '.join(missing[:6])}" + (" ..." if len(missing) > 6 else ""))
    if unexpected:
        problems.append(f"unexpected tensors: {', '.join(n[:80] for n in unexpected[:6])}"
                        + (" ..." if len(unexpected) > 6 else ""))
    for name in sorted(set(expected) & names):
        entry = stored.get(alias_table.get(name, name))
        if entry is None:
            continue
        want = expected[name]
        if tuple(want.shape) != entry.shape:
            problems.append(f"{name} has shape {entry.shape}, the spec needs {tuple(want.shape)}")
        elif want.is_floating_point() != (entry.dtype in FLOAT_DTYPES):
            problems.append(f"{name} has dtype {TORCH_DTYPE_NAMES[entry.dtype]}, the spec needs a {want.dtype} tensor")
    if problems:
        raise WeightsError(f"{origin}: weights do not match the spec '{spec.name}':\n  " + "\n  ".join(problems[:12]),
                           code="E816")


def load_weights(path: str | Path) -> tuple[Spec, dict[str, torch.Tensor]]:
    """The spec a spachc weights file (or model folder) carries, and its full state_dict
    (aliases re-expanded). Names, shapes, dtypes and checksum are checked from the header and
    a streamed read before anything is allocated."""
    path = model_file(path)
    header = read_weights_header(path)
    spec = metadata_spec(header.metadata, path)
    alias_table = aliases(header.metadata, path)
    check_header(spec, header, alias_table, str(path))
    problem = integrity.verify(path, header)
    if problem is not None:
        raise WeightsError(f"{path}: {problem}", code="E830" if problem.startswith("unknown") else "E815")
    try:
        with safe_open(str(path), framework="pt") as f:
            state = {k: f.get_tensor(k) for k in f.keys()}
    except (SafetensorError, OSError) as exc:
        raise WeightsError(f"{path}: cannot read its tensors ({exc})") from None
    for alias, target in alias_table.items():
        state[alias] = state[target]
    return spec, state


def check_state(spec: Spec, state: dict[str, torch.Tensor], origin: str) -> None:
    """Keys, shapes and dtypes must be exactly what build(spec) has (a state_dict in memory:
    a state.pt's, or an official checkpoint's once mapped)."""
    expected = expected_tensors(spec)
    missing = sorted(set(expected) - set(state))
    unexpected = sorted(set(state) - set(expected))
    problems = []
    if missing:
        problems.append(f"missing tensors: {', '.join(missing[:6])}" + (" ..." if len(missing) > 6 else ""))
    if unexpected:
        problems.append(f"unexpected tensors: {', '.join(unexpected[:6])}" + (" ..." if len(unexpected) > 6 else ""))
    for name in sorted(set(expected) & set(state)):
        want, got = expected[name], state[name]
        if not isinstance(got, torch.Tensor):
            problems.append(f"{name} is a {type(got).__name__}, not a tensor")
        elif tuple(want.shape) != tuple(got.shape):
            problems.append(f"{name} has shape {tuple(got.shape)}, the spec needs {tuple(want.shape)}")
        elif want.is_floating_point() != got.is_floating_point():
            problems.append(f"{name} has dtype {got.dtype}, the spec needs a {want.dtype} tensor")
    if problems:
        raise WeightsError(f"{origin}: weights do not match the spec '{spec.name}':\n  " + "\n  ".join(problems[:12]),
                           code="E816")


def load_weights_of(spec: Spec, path: str | Path) -> tuple[Spec, dict[str, torch.Tensor] | None]:
    """A weights file's stored spec and, when it is `spec` (same hash), its checked state_dict;
    (stored spec, None) when the file holds another spec's weights (read from the header only)."""
    stored = metadata_spec(read_weights_header(path).metadata, model_file(path))
    if stored.hash != spec.hash:
        return stored, None
    return load_weights(path)
