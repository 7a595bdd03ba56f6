"""Checkpoints of the paper's reference code, mapped onto spachc's module tree.

The reference names single-stage models `blocks.J.*` and multi-stage ones `layerI.J.*`,
where `layerI.0` is the downsample of every stage but the first. Its layer scale is
`gamma_1` shaped 1×1×C (ours is C), and a shared mixer is listed under every block.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path

import torch

from ..diagnostics import UserError
from ..lang.ir import Spec
from .build import skeleton

_BLOCK_PARTS = (
    ("mixer_norm.", "norm1."),
    ("mixer.", "spatial_func."),
    ("layer_scale", "gamma_1"),
    ("pos.conv.", "cpe_net.net.1."),
    ("mlp_norm.", "norm2."),
    ("mlp.", "channel_func."),
)


def load_official_checkpoint(path: Path) -> dict:
    """An official `.pth` ({"model": state_dict}), read with weights_only=True: never unpickle code."""
    import pickle

    path = Path(path)
    if not path.is_file():
        raise UserError(f"{path}: no such file", code="E801")
    with path.open("rb") as f:
        magic = f.read(4)
    if not (magic.startswith(b"PK\x03\x04") or magic[:1] == b"\x80"):  # torch's zip format, or a legacy pickle
        raise UserError(f"{path}: not a PyTorch checkpoint (neither a torch zip archive nor a pickle)", code="E803")
    try:
        data = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as exc:
        raise UserError(f"{path}: refused to load: it needs more than plain tensors ({exc})".split("\n")[0],
                        code="E802", hint="only weights_only checkpoints are accepted") from None
    except (RuntimeError, EOFError, OSError) as exc:
        raise UserError(f"{path}: not a readable PyTorch checkpoint ({exc})".split("\n")[0], code="E803") from None
    if not isinstance(data, dict):
        raise UserError(f"{path}: holds a {type(data).__name__}, not a state_dict", code="E804")
    return data


class UpstreamMismatch(UserError):
    """The checkpoint's keys or shapes do not fit the spec."""

    code = "E805"


def upstream_key(spec: Spec, key: str) -> str:
    """Our state_dict key -> the reference code's key for the same tensor."""
    single = len(spec.stages) == 1
    if key.startswith("stem_norm."):
        return "norm1." + key.removeprefix("stem_norm.")
    if key.startswith("head_norm."):
        return "norm2." + key.removeprefix("head_norm.")
    if key.startswith("stem.body."):
        return "stem.proj." + key.removeprefix("stem.body.")
    if key.startswith("stem.proj.") and spec.stem.kind == "conv4":
        return "stem.proj.9." + key.removeprefix("stem.proj.")
    m = re.fullmatch(r"stages\.(\d+)\.downsample\.(conv|norm)\.(.+)", key)
    if m:
        stage, part, rest = int(m[1]), m[2], m[3]
        return f"layer{stage + 1}.0.net.1.{0 if part == 'conv' else 1}.{rest}"
    m = re.fullmatch(r"stages\.(\d+)\.blocks\.(\d+)\.(.+)", key)
    if m:
        stage, block, rest = int(m[1]), int(m[2]), m[3]
        for ours, theirs in _BLOCK_PARTS:
            if rest.startswith(ours):
                rest = theirs + rest.removeprefix(ours)
                break
        if single:
            return f"blocks.{block}.{rest}"
        return f"layer{stage + 1}.{block + (1 if stage else 0)}.{rest}"
    return key


def upstream_layout(spec: Spec) -> dict[str, tuple[str, tuple[int, ...]]]:
    """Reference key -> (our key, our shape), for every tensor of `build(spec)`."""
    ours = skeleton(spec).state_dict(keep_vars=True)
    return {upstream_key(spec, k): (k, tuple(v.shape)) for k, v in ours.items()}


def _unwrap(state_dict: Mapping) -> Mapping:
    if "model" in state_dict and isinstance(state_dict["model"], Mapping):
        state_dict = state_dict["model"]
    if state_dict and all(k.startswith("module.") for k in state_dict):
        state_dict = {k.removeprefix("module."): v for k, v in state_dict.items()}
    return state_dict


def _listing(title: str, keys: list[str], limit: int = 8) -> str:
    shown = ", ".join(keys[:limit]) + (f", ... ({len(keys) - limit} more)" if len(keys) > limit else "")
    return f"{title} ({len(keys)}): {shown}"


def from_upstream(spec: Spec, state_dict: Mapping[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """Map a reference-layout state_dict onto `build(spec).state_dict()` keys.

    Raises UpstreamMismatch naming every missing, unexpected and mis-shaped key.
    """
    from .mixers import REFERENCE_LAYOUT

    foreign = sorted({k for s in spec.stages for k in s.kinds} - REFERENCE_LAYOUT)
    if foreign:
        raise UpstreamMismatch(f"spec '{spec.name}' has {', '.join(foreign)} blocks; the paper's reference "
                               f"checkpoints hold only {', '.join(sorted(REFERENCE_LAYOUT))} blocks")
    state_dict = _unwrap(state_dict)
    layout = upstream_layout(spec)
    missing = [k for k in layout if k not in state_dict]
    unexpected = [k for k in state_dict if k not in layout]
    misshaped, out = [], {}
    for theirs, (ours, shape) in layout.items():
        if theirs not in state_dict:
            continue
        tensor = state_dict[theirs]
        if not isinstance(tensor, torch.Tensor):
            misshaped.append(f"{theirs} is a {type(tensor).__name__}, not a tensor")
            continue
        if tuple(tensor.shape) != shape:
            if tensor.numel() == _numel(shape) and theirs.endswith("gamma_1"):
                tensor = tensor.reshape(shape)
            else:
                misshaped.append(f"{theirs} has shape {tuple(tensor.shape)}, expected {shape}")
                continue
        out[ours] = tensor
    problems = []
    if missing:
        problems.append(_listing("missing keys", missing))
    if unexpected:
        problems.append(_listing("unexpected keys", unexpected))
    if misshaped:
        problems.append(_listing("mis-shaped tensors", misshaped))
    problems += _shared_disagreements(spec, out)
    if problems:
        raise UpstreamMismatch(f"checkpoint does not fit spec '{spec.name}':\n  " + "\n  ".join(problems))
    return out


def _numel(shape: tuple[int, ...]) -> int:
    n = 1
    for s in shape:
        n *= s
    return n


def _shared_disagreements(spec: Spec, mapped: dict[str, torch.Tensor]) -> list[str]:
    """A shared mixer is one tensor: its copies under every block must agree."""
    problems = []
    for i, stage in enumerate(spec.stages):
        if not stage.shared:
            continue
        groups: dict[str, list[str]] = {}
        for key in mapped:
            m = re.fullmatch(rf"stages\.{i}\.blocks\.\d+\.mixer\.(.+)", key)
            if m:
                groups.setdefault(m[1], []).append(key)
        for name, keys in groups.items():
            first = mapped[keys[0]]
            if any(not torch.equal(first, mapped[k]) for k in keys[1:]):
                problems.append(f"stage {i + 1} shares its mixer, but the checkpoint's copies of "
                                f"'{name}' differ between blocks")
    return problems
