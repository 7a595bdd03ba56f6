"""A run folder: everything a training run persists, written so that no failure corrupts it.

    state.pt            the single source of truth: spec text and hash, recipe, data, world
                        size, weights, optimizer, scaler, EMA, epoch, step, history. Loads with
                        torch.load(weights_only=True); its atomic rename commits a checkpoint.
                        `--resume --out DIR` needs nothing else.
    last.safetensors    weights after the last finished epoch (spec text and hash inside)
    best.safetensors    weights of the epoch with the best validation top-1
    *.ema.safetensors   the EMA weights beside them, when the recipe keeps an EMA
    metrics.jsonl       one JSON line per finished epoch
    curves.png          loss and accuracy against epoch
    run.json            a record for people (command, device, batch): written, never read back
    result.json         the outcome of a finished (or stopped) run

Everything but state.pt is derived from it: a crash between files leaves the previous
checkpoint, and a resume rewrites the derived files from it. Rank 0 writes; every rank
learns whether a write failed, so all stop together.
"""

from __future__ import annotations

import io
import json
import pickle
from pathlib import Path

import torch

from ..model_io import metadata as meta
from ..atomic import write_atomically
from ..model_io.folder import RUN_STATE
from ..lang.diagnostics import UserError
from ..lang.frontend import parse
from ..lang.ir import Spec
from ..model_io.tensors import save_weights
from .distributed import World, sum_across
from .plot import curves_png

STATE_FILE = RUN_STATE  # declared with the other model arguments (spachc/folder.py)
STATE_FORMAT = "spachc-train-state"
STATE_VERSION = 1


class CheckpointReadError(UserError):
    """A checkpoint that cannot be resumed from, named with the reason."""

    code = "E1003"


class CheckpointWriteFailed(UserError):
    """A checkpoint could not be written (disk full, read-only folder, file size limit)."""

    code, exit_code = "E1005", 4


def is_state_file(path: Path) -> bool:
    """A spachc training state (state.pt) rather than some other PyTorch file."""
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception:  # noqa: BLE001 - anything unreadable is simply not ours
        return False
    return isinstance(state, dict) and state.get("format") == STATE_FORMAT


def read_state(path: Path, spec: Spec | None = None) -> dict:
    """A training state, refusing a damaged file, another format, or (given `spec`) another spec."""
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
    if spec is not None and state["spec_hash"] != spec.hash:
        raise CheckpointReadError(
            f"{path}: this run trained spec '{state['spec_name']}' (hash {state['spec_hash'][:12]}), "
            f"not '{spec.name}' (hash {spec.hash[:12]})",
            hint=f"resume with the run's own spec (`spachc train --resume --out {path.parent}` alone), "
                 f"or train into a new --out folder")
    return state


def saved_eval_crop(path: Path) -> float | None:
    """The eval crop a training state's recipe validates with (None: not a training state)."""
    if path.suffix != ".pt" or not is_state_file(path):
        return None
    return json.loads(read_state(path)["recipe"])["eval_crop"]


def state_spec(state: dict) -> Spec:
    return parse(state["spec_text"], source="state.pt[spec]")


class RunFolder:
    """The one object that reads and writes a run folder."""

    def __init__(self, path: Path, world: World | None = None, device: torch.device | None = None):
        self.path = Path(path)
        self.world = world or World()
        self.device = device or torch.device("cpu")

    @property
    def state_path(self) -> Path:
        return self.path / STATE_FILE

    def has_state(self) -> bool:
        return self.state_path.exists()

    def read_state(self, spec: Spec | None = None) -> dict:
        return read_state(self.state_path, spec)

    # -- writing: rank 0 writes, all ranks agree on failure -------------------------------------

    def commit(self, state: dict) -> None:
        """Write state.pt: the commit point of a checkpoint."""
        self._write(self.state_path, lambda: _state_bytes(state))

    def export_weights(self, name: str, models, spec: Spec, info: meta.ModelInfo, epoch: int) -> None:
        """`NAME.safetensors` (and `NAME.ema.safetensors`) for eval, export and predict: with what
        using them needs, the eval preprocessing and the class names (spachc.model_io.metadata)."""
        extra = {**meta.model_info_entries(info), meta.EPOCH: str(epoch)}
        for model, suffix in models:
            path = self.path / f"{name}{suffix}.safetensors"
            self._write(path, None, lambda m=model, p=path: save_weights(m, spec, p, extra=extra))

    def write_logs(self, history: list[dict]) -> None:
        lines = "".join(json.dumps(h, sort_keys=True) + "\n" for h in history)
        self._write(self.path / "metrics.jsonl", lambda: lines.encode())
        self._write(self.path / "curves.png", lambda: curves_png(history))

    def write_json(self, name: str, data: dict) -> None:
        self._write(self.path / name, lambda: (json.dumps(data, indent=2) + "\n").encode())

    def _write(self, path: Path, data, action=None) -> None:
        failure: OSError | None = None
        if self.world.is_main:
            try:
                if action is not None:
                    action()
                else:
                    write_atomically(path, data())
            except OSError as exc:
                failure = exc
        failed = failure is not None
        if self.world.distributed:
            failed = sum_across(self.world, [float(failed)], self.device)[0] > 0
        if failed:
            previous = (f"the previous checkpoint {self.state_path} is intact" if self.has_state()
                        else "no earlier checkpoint exists")
            reason = (f"cannot write {path}: {failure.strerror or failure}" if failure is not None
                      else "rank 0 could not write a checkpoint")
            raise CheckpointWriteFailed(f"{reason}; training stopped and {previous}")


def _state_bytes(state: dict) -> bytes:
    buffer = io.BytesIO()
    torch.save(state, buffer)
    return buffer.getvalue()


def all_finite(model: torch.nn.Module) -> bool:
    with torch.no_grad():
        return all(bool(torch.isfinite(p).all()) for p in model.parameters())
