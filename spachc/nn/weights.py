"""Weights on disk: safetensors files that carry their spec, so a file alone rebuilds
its model. Shared tensors (a shared mixer) are stored once and re-tied on load.
Writes are atomic: a reader never sees a half-written file under the final name, and a
checksum of the tensor data in the metadata catches files corrupted after writing.
"""

from __future__ import annotations

import hashlib
import json
import struct
from pathlib import Path

import torch
from safetensors import SafetensorError, safe_open
from safetensors.torch import save as safetensors_bytes

from .. import __version__
from ..atomic import write_atomically  # noqa: F401  (re-exported: the one atomic writer)
from ..lang.ir import Spec
from ..folder import model_file
from ..weights_file import WeightsError, read_metadata, weights_header  # noqa: F401  (re-exported)
from ..lang.printer import to_text
# The metadata keys are declared once, in spachc.metadata.
from ..metadata import ALIASES as META_ALIASES, CHECKSUM as META_CHECKSUM, DTYPE as META_DTYPE  # noqa: E402
from ..metadata import SPEC as META_SPEC, SPEC_HASH as META_HASH, VERSION as META_VERSION  # noqa: E402


def _dedupe(state: dict[str, torch.Tensor]) -> tuple[dict[str, torch.Tensor], dict[str, str]]:
    """Keep one name per tensor; map the other names to it."""
    kept: dict[str, torch.Tensor] = {}
    aliases: dict[str, str] = {}
    owner: dict[tuple, str] = {}
    for name, tensor in state.items():
        ident = (tensor.untyped_storage().data_ptr(), tensor.storage_offset(), tuple(tensor.shape),
                 tuple(tensor.stride()), tensor.dtype)
        if tensor.numel() and ident in owner:
            aliases[name] = owner[ident]
        else:
            owner[ident] = name
            kept[name] = tensor
    return kept, aliases


def tensors_digest(tensors: dict[str, torch.Tensor]) -> str:
    """sha256 over names, dtypes, shapes and bytes: any flipped byte changes it."""
    digest = hashlib.sha256()
    for name in sorted(tensors):
        t = tensors[name].detach().contiguous().cpu()
        digest.update(f"{name}|{str(t.dtype)}|{list(t.shape)}\n".encode())
        digest.update(t.reshape(-1).view(torch.uint8).numpy().tobytes())
    return digest.hexdigest()


def weights_bytes(model: torch.nn.Module, spec: Spec, dtype: torch.dtype | None = None,
                  extra: dict[str, str] | None = None) -> bytes:
    kept, aliases = _dedupe(model.state_dict())
    tensors = {}
    for name, t in kept.items():
        t = t.detach()
        if dtype is not None and t.is_floating_point():
            t = t.to(dtype)
        tensors[name] = t.contiguous().cpu()
    stored = next((t.dtype for t in tensors.values() if t.is_floating_point()), torch.float32)
    metadata = {
        META_SPEC: to_text(spec), META_HASH: spec.hash, META_VERSION: __version__,
        META_DTYPE: str(stored).removeprefix("torch."), META_ALIASES: json.dumps(aliases, sort_keys=True),
        META_CHECKSUM: tensors_digest(tensors), "format": "pt", **(extra or {}),
    }
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


def load_weights(path: str | Path) -> tuple[Spec, dict[str, torch.Tensor]]:
    """The spec a spachc weights file (or model folder) carries, and its full state_dict
    (aliases re-expanded)."""
    path = model_file(path)
    spec, metadata = weights_header(path)
    try:
        with safe_open(str(path), framework="pt") as f:
            state = {k: f.get_tensor(k) for k in f.keys()}
    except (SafetensorError, OSError) as exc:
        raise WeightsError(f"{path}: cannot read its tensors ({exc})") from None
    if META_CHECKSUM in metadata and tensors_digest(state) != metadata[META_CHECKSUM]:
        raise WeightsError(f"{path}: its tensor data does not match the checksum written with it: "
                           "the file is corrupted", code="E815")
    for alias, target in json.loads(metadata.get(META_ALIASES, "{}")).items():
        if target not in state:
            raise WeightsError(f"{path}: shared tensor '{alias}' points at missing '{target}'", code="E816")
        state[alias] = state[target]
    return spec, state


def check_state(spec: Spec, state: dict[str, torch.Tensor], origin: str) -> None:
    """Keys, shapes and dtypes must be exactly what build(spec) has."""
    from .build import skeleton

    expected = skeleton(spec).state_dict()
    missing = sorted(set(expected) - set(state))
    unexpected = sorted(set(state) - set(expected))
    problems = []
    if missing:
        problems.append(f"missing tensors: {', '.join(missing[:6])}" + (" ..." if len(missing) > 6 else ""))
    if unexpected:
        problems.append(f"unexpected tensors: {', '.join(unexpected[:6])}" + (" ..." if len(unexpected) > 6 else ""))
    for name in sorted(set(expected) & set(state)):
        want, got = expected[name], state[name]
        if tuple(want.shape) != tuple(got.shape):
            problems.append(f"{name} has shape {tuple(got.shape)}, the spec needs {tuple(want.shape)}")
        elif want.is_floating_point() != got.is_floating_point():
            problems.append(f"{name} has dtype {got.dtype}, the spec needs a {want.dtype} tensor")
    if problems:
        raise WeightsError(f"{origin}: weights do not match the spec '{spec.name}':\n  " + "\n  ".join(problems[:12]),
                           code="E816")


def load_weights_of(spec: Spec, path: str | Path) -> tuple[Spec, dict[str, torch.Tensor] | None]:
    """A weights file's stored spec and, when it is `spec` (same hash), its checked state_dict;
    (stored spec, None) when the file holds another spec's weights."""
    stored, state = load_weights(path)
    if stored.hash != spec.hash:
        return stored, None
    check_state(spec, state, str(path))
    return stored, state


def load_model(path: str | Path, device: str | torch.device = "cpu") -> torch.nn.Module:
    """Rebuild a module from a spachc safetensors file alone."""
    from .build import build

    spec, state = load_weights(path)
    check_state(spec, state, str(path))
    model = build(spec, device=device)
    model.load_state_dict(state, strict=True)
    return model
