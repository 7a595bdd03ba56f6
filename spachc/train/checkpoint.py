"""The files of a run folder, and how they are written so that no failure corrupts them.

    run.json            the command, spec text and hash, resolved recipe (written at start)
    state.pt            everything to resume: weights, optimizer, scaler, EMA, epoch, step,
                        history; loads with torch.load(weights_only=True). Its atomic rename
                        is the commit point of a checkpoint.
    last.safetensors    weights after the last finished epoch (spec text and hash inside)
    best.safetensors    weights of the epoch with the best validation top-1
    *.ema.safetensors   the EMA weights beside them, when the recipe keeps an EMA
    metrics.jsonl       one JSON line per finished epoch
    curves.png          loss and accuracy against epoch

A checkpoint is `state.pt`; a crash between files leaves the previous one, and resume
rewrites the derived files (last weights, metrics, curves) from it.
"""

from __future__ import annotations

import io
import pickle
from pathlib import Path

import torch

from .. import metadata as meta
from ..lang.ir import Spec
from ..nn.weights import save_weights, write_atomically

STATE_FILE = "state.pt"
STATE_FORMAT = "spachc-train-state"
STATE_VERSION = 1


class CheckpointWriteError(OSError):
    """A checkpoint could not be written (disk full, read-only folder, file size limit)."""


class CheckpointReadError(ValueError):
    """A checkpoint that cannot be resumed from, named with the reason."""


def state_bytes(state: dict) -> bytes:
    buffer = io.BytesIO()
    torch.save(state, buffer)
    return buffer.getvalue()


def _writing(path: Path, write) -> None:
    try:
        write()
    except OSError as exc:
        raise CheckpointWriteError(exc.errno, f"cannot write {path}: {exc.strerror or exc}") from None


def save_state(run_dir: Path, state: dict) -> None:
    path = run_dir / STATE_FILE
    data = state_bytes(state)
    _writing(path, lambda: write_atomically(path, data))


def save_model(model: torch.nn.Module, spec: Spec, path: Path, info: meta.ModelInfo, epoch: int) -> None:
    """Weights with what using them needs: the eval preprocessing and the class names."""
    extra = {**meta.model_info_entries(info), meta.EPOCH: str(epoch)}
    _writing(path, lambda: save_weights(model, spec, path, extra=extra))


def save_text(path: Path, text: str) -> None:
    _writing(path, lambda: write_atomically(path, text.encode()))


def save_bytes(path: Path, data: bytes) -> None:
    _writing(path, lambda: write_atomically(path, data))


def load_state(run_dir: Path, spec: Spec) -> dict:
    """The run's state, refusing a checkpoint of another spec or a damaged file."""
    path = run_dir / STATE_FILE
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except FileNotFoundError:
        raise CheckpointReadError(f"{path}: no checkpoint to resume from") from None
    except (pickle.UnpicklingError, RuntimeError, EOFError, OSError, ValueError) as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise CheckpointReadError(f"{path}: not a readable checkpoint ({first})") from None
    if not isinstance(state, dict) or state.get("format") != STATE_FORMAT:
        raise CheckpointReadError(f"{path}: not a spachc training checkpoint")
    if state.get("version") != STATE_VERSION:
        raise CheckpointReadError(f"{path}: checkpoint version {state.get('version')} is not {STATE_VERSION}")
    if state["spec_hash"] != spec.hash:
        raise CheckpointReadError(
            f"{path}: this run trained spec '{state['spec_name']}' (hash {state['spec_hash'][:12]}), "
            f"not '{spec.name}' (hash {spec.hash[:12]}); resume with the run's own spec (its text is in "
            f"{run_dir / 'run.json'}) or train into a new --out folder")
    return state


def all_finite(model: torch.nn.Module) -> bool:
    with torch.no_grad():
        return all(bool(torch.isfinite(p).all()) for p in model.parameters())
