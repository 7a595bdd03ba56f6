"""Where a model's weights come from, decided in one place for every command and the library
(the kinds of MODEL argument are spachc/model_io/kinds.py's):

    NAME.safetensors   a spachc weights file (its spec hash must be the spec's)
    state.pt           a spachc training state (its spec hash must be the spec's)
    NAME.pth / .pt     a checkpoint of the paper's code, mapped onto spachc's keys

Weights of another spec are refused with what differs between the two architectures.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from ..diagnostics import Note, UserError
from ..lang.ir import Spec

if TYPE_CHECKING:  # torch is imported by the functions that need it: the CLI loads this module at start
    import torch

from .kinds import CHECKPOINT_SUFFIXES as OFFICIAL_SUFFIXES, carries_spec as is_weights_file, model_file  # noqa: F401
from .kinds import refuse_overrides


def spec_and_weights(arg: str, overrides=()) -> tuple[Spec, dict | None]:
    """A command's SPEC argument: a .spach file or zoo name gives (spec, None); a spachc
    .safetensors gives its embedded spec and its weights. `--set` cannot change a weights
    file's spec."""
    from ..lang.frontend import load

    if not is_weights_file(arg):
        return load(arg, overrides or ()), None
    from .tensors import check_state, load_weights

    refuse_overrides(arg, overrides)
    if arg.endswith(".pt"):
        from ..train.run_folder import read_state, state_spec

        saved = read_state(Path(arg))
        spec, state = state_spec(saved), saved["model"]
        check_state(spec, state, arg)
        return spec, state
    return load_weights(model_file(arg))  # checked against its spec from the header


def load_weights_for(spec: Spec, path: str | Path, ema: bool = False,
                     own_spec_command: str | None = None) -> tuple[dict[str, torch.Tensor], str]:
    """(state_dict for build(spec), a description of where it came from).

    `own_spec_command`: the command that would use the file with its own spec, for the hint
    when it holds weights of another spec (`{path}` is filled in)."""
    from .tensors import load_weights_of

    path = model_file(path)
    if path.suffix != ".safetensors" and path.suffix not in OFFICIAL_SUFFIXES:
        raise UserError(f"--weights {path}: expected a spachc .safetensors file or an official .pth checkpoint "
                        f"(or a spachc state.pt)", code="E904")
    if not path.is_file():
        raise UserError(f"{path}: no such weights file", code="E1011")
    if path.suffix == ".safetensors":
        if ema:
            path = _ema_sibling(path)
        stored, state = load_weights_of(spec, path)
        if state is None:
            raise other_spec(path, stored, spec, own_spec_command)
        return state, f"spachc checkpoint {path.name}"
    if path.suffix in OFFICIAL_SUFFIXES:
        from ..train.run_folder import is_state_file

        if is_state_file(path):
            return _from_training_state(spec, path, ema, own_spec_command)
        return _from_official(spec, path, ema), f"official checkpoint {path.name}"


def other_spec(path: Path, stored: Spec, spec: Spec, own_spec_command: str | None, code: str = "E1013") -> UserError:
    """Weights of another architecture: say what differs, and how to use them with their own spec."""
    from ..lang.diffing import differences

    notes = [Note(f"{line}") for line in differences(spec, stored)[:8]] or [
        Note("the architectures are the same; only the spec's name or a written-out default differs")]
    hint = (f"use it with its own spec: {own_spec_command.format(path=path)}" if own_spec_command else None)
    return UserError(f"{path} holds weights for spec '{stored.name}' ({stored.hash[:12]}), not of '{spec.name}' "
                     f"({spec.hash[:12]}); what differs (yours -> the file's):", code=code, hint=hint,
                     notes=notes)


def _ema_sibling(path: Path) -> Path:
    ema_file = path.with_name(path.name.removesuffix(".safetensors") + ".ema.safetensors")
    if not ema_file.is_file():
        raise UserError(f"--ema: no EMA weights beside {path} (expected {ema_file})", code="E1012")
    return ema_file


def _from_training_state(spec: Spec, path: Path, ema: bool, own_spec_command: str | None):
    from ..train.run_folder import read_state, state_spec
    from .tensors import check_state

    state = read_state(path)
    if state["spec_hash"] != spec.hash:
        raise other_spec(path, state_spec(state), spec, own_spec_command)
    weights = state["ema"] if ema else state["model"]
    if ema and not weights:
        raise UserError(f"--ema: {path} was trained without an EMA", code="E1012")
    check_state(spec, weights, str(path))
    return weights, f"spachc training state {path.name} (epoch {state['epoch']}, step {state['step_in_epoch']})"


def _from_official(spec: Spec, path: Path, ema: bool) -> dict[str, torch.Tensor]:
    from ..nn.upstream import from_upstream, load_official_checkpoint

    checkpoint = load_official_checkpoint(path)
    key = "model_ema" if ema else "model"
    if key in checkpoint:
        checkpoint = checkpoint[key]
    elif ema:
        raise UserError(f"--ema: {path} has no 'model_ema' entry", code="E1012")
    import torch

    if not isinstance(checkpoint, dict) or not all(isinstance(v, torch.Tensor) for v in checkpoint.values()):
        raise UserError(f"{path}: expected a state_dict or {{'model': state_dict}}", code="E1014")
    return from_upstream(spec, checkpoint)
