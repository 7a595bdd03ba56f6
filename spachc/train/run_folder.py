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

import hashlib
import io
import json
from pathlib import Path

import torch

from ..model_io import metadata as meta
from ..files.atomic import write_atomically
from ..model_io.folder import RUN_STATE
from ..diagnostics import UserError
from ..diagnostics.codes import E1003, E1005, E1041, E1042
from ..lang.frontend import parse
from ..lang.ir import Spec
from ..model_io.tensors import save_weights
from .distributed import World, sum_across
from .plot import curves_png

STATE_FILE = RUN_STATE  # declared with the other model arguments (spachc/model_io/kinds.py)
STATE_FORMAT = "spachc-train-state"
STATE_VERSION = 1


class CheckpointReadError(UserError):
    """A checkpoint that cannot be resumed from, named with the reason."""

    code = E1003


class CheckpointWriteFailed(UserError):
    """A checkpoint could not be written (disk full, read-only folder, file size limit)."""

    code, exit_code = E1005, 4


def is_state_file(path: Path) -> bool:
    """A spachc training state (state.pt) rather than some other PyTorch file."""
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception:  # noqa: BLE001 - anything unreadable is simply not ours
        return False
    return _is_state(state)


def _is_state(state) -> bool:
    """Compared as a str: an entry crafted as a tensor must not reach a tensor comparison."""
    return isinstance(state, dict) and isinstance(state.get("format"), str) and state["format"] == STATE_FORMAT


class CheckpointDamaged(UserError):
    """state.pt whose contents do not match the checksum it was written with."""

    code = E1041


class CheckpointMalformed(UserError):
    """state.pt with a missing, wrongly typed or out-of-range entry (crafted or from a bug)."""

    code = E1042


def read_state(path: Path, spec: Spec | None = None) -> dict:
    """A training state, refusing a damaged file, another format, or (given `spec`) another spec.
    Every entry is checked (type and range) and the checksum verified before anything uses it;
    `state["checksum_verified"]` is False for a file from before checksums (it still resumes)."""
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except FileNotFoundError:
        raise CheckpointReadError(f"{path}: no checkpoint to resume from") from None
    except Exception as exc:  # noqa: BLE001 - damaged bytes raise anything inside torch.load (AssertionError, ...)
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise CheckpointReadError(f"{path}: not a readable checkpoint ({first})") from None
    if not _is_state(state):
        raise CheckpointReadError(f"{path}: not a spachc training checkpoint")
    version = state.get("version")
    if not isinstance(version, int) or isinstance(version, bool) or version != STATE_VERSION:
        raise CheckpointReadError(f"{path}: checkpoint version {str(version)[:40]} is not {STATE_VERSION}")
    recorded = state.get(CHECKSUM_KEY)
    if recorded is not None and (not isinstance(recorded, str) or recorded != state_checksum(state)):
        raise CheckpointDamaged(f"{path} is damaged: its contents do not match the checksum they were written with "
                                f"(a disk, copy or transfer error); it cannot be resumed. "
                                f"{last_good_weights(path.parent)}",
                                hint=f"restore {path} from a backup, or move {path.parent} aside and train again")
    check_state_entries(state, path)
    state = dict(state)
    state["checksum_verified"] = recorded is not None
    if spec is not None:
        check_state_spec(state, spec, path)
    return state


def check_state_spec(state: dict, spec: Spec, path: Path) -> None:
    if state["spec_hash"] != spec.hash:
        raise CheckpointReadError(
            f"{path}: this run trained spec '{state['spec_name']}' (hash {state['spec_hash'][:12]}), "
            f"not '{spec.name}' (hash {spec.hash[:12]})",
            hint=f"resume with the run's own spec (`spachc train --resume --out {path.parent}` alone), "
                 f"or train into a new --out folder")


# --- integrity: a checksum over everything state.pt records, and every entry's type and range -------

CHECKSUM_KEY = "checksum"
_ENTRY_TYPES = {  # what every entry must be; anything else is E1042, never a KeyError/TypeError later
    "spec_hash": str, "spec_name": str, "spec_text": str, "recipe": str, "data": str, "world_size": int,
    "epoch": int, "step_in_epoch": int, "global_step": int, "model": dict, "optimizer": dict, "scaler": dict,
    "ema": dict, "history": list, "best_top1": (int, float), "partial": dict, "torch_rng": torch.Tensor,
}


def state_checksum(state: dict) -> str:
    """sha256 over every entry but the checksum itself: tensors (dtype, shape, bytes) and the
    recorded scalars, strings and containers, in a canonical order."""
    h = hashlib.sha256()
    _digest({k: v for k, v in state.items() if k not in (CHECKSUM_KEY, "checksum_verified")}, h)
    return h.hexdigest()


def _digest(value, h) -> None:
    if isinstance(value, torch.Tensor):
        t = value.detach().cpu().contiguous()
        h.update(f"T{t.dtype}{tuple(t.shape)}".encode())
        h.update(t.reshape(-1).view(torch.uint8).numpy().tobytes())
    elif isinstance(value, dict):
        h.update(f"D{len(value)}".encode())
        for key in sorted(value, key=lambda k: (type(k).__name__, repr(k))):
            _digest(key, h)
            _digest(value[key], h)
    elif isinstance(value, (list, tuple)):
        h.update(f"L{len(value)}".encode())
        for item in value:
            _digest(item, h)
    else:
        text = repr(value).encode("utf-8", "backslashreplace")
        h.update(f"{type(value).__name__}:{len(text)}:".encode() + text)


def check_state_entries(state: dict, path: Path) -> None:
    """Each entry present, of its type and in its range, before the trainer reads any of it."""
    def bad(what: str) -> CheckpointMalformed:
        return CheckpointMalformed(f"{path}: {what}; the file was not written by this spachc's training loop "
                                   f"(crafted or damaged), so it is not resumed. {last_good_weights(path.parent)}",
                                   hint=f"move {path.parent} aside and train again")

    for key, kind in _ENTRY_TYPES.items():
        if key not in state:
            raise bad(f"no '{key}' entry")
        value = state[key]
        if isinstance(value, bool) or not isinstance(value, kind):
            raise bad(f"'{key}' is a {type(value).__name__}, not a {getattr(kind, '__name__', 'number')}")
    try:
        epochs = json.loads(state["recipe"])["epochs"]
    except (ValueError, KeyError, TypeError):
        raise bad("'recipe' is not a recipe") from None
    if isinstance(epochs, bool) or not isinstance(epochs, int) or epochs < 1:
        raise bad(f"the recipe's epochs {epochs!r} is not a positive integer")
    if not 0 <= state["epoch"] <= epochs:
        raise bad(f"'epoch' {state['epoch']} is outside 0..{epochs} (the recipe's epochs)")
    if len(state["history"]) != state["epoch"] or not all(isinstance(row, dict) for row in state["history"]):
        raise bad(f"'history' holds {len(state['history'])} epoch records, not {state['epoch']}")
    if state["step_in_epoch"] < 0 or state["global_step"] < 0 or state["world_size"] < 1:
        raise bad("a negative step or a world size below 1")
    if not all(isinstance(k, str) and isinstance(v, torch.Tensor) for k, v in state["model"].items()):
        raise bad("'model' is not a mapping of tensor names to tensors")
    partial = state["partial"]
    if set(partial) != {"loss_sum", "count"} or not all(isinstance(v, (int, float)) and not isinstance(v, bool)
                                                         for v in partial.values()):
        raise bad("'partial' is not {loss_sum, count}")
    if state["torch_rng"].dtype != torch.uint8 or state["torch_rng"].ndim != 1:
        raise bad("'torch_rng' is not a random generator state")


def last_good_weights(folder: Path) -> str:
    """Where the last good weights of a run are (the files derived from a checkpoint carry their own checksum)."""
    last = folder / "last.safetensors"
    if last.is_file():
        return (f"The last good weights (the last finished epoch) are in {last} and {folder / 'best.safetensors'}: "
                f"eval, export and predict use them")
    return "No finished epoch left weights in the folder"


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
    torch.save({**state, CHECKSUM_KEY: state_checksum(state)}, buffer)
    return buffer.getvalue()


def all_finite(model: torch.nn.Module) -> bool:
    with torch.no_grad():
        return all(bool(torch.isfinite(p).all()) for p in model.parameters())
