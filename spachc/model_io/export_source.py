"""What an export (or `spachc save`) writes out: the spec, the module in eval mode with its
weights, a description of where those weights came from, and the preprocessing and labels
recorded with them. One place, so `spachc export`, `spachc save` and `spachc.export(...)`
cannot disagree on which weights a file holds."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import torch

from ..diagnostics import UserError
from ..lang.ir import Spec
from ..lang.limits import DEFAULT_MAX_ACTIVATION_GB, DEFAULT_MAX_PARAMS, enforce
from .metadata import ModelInfo

OWN_SPEC_COMMAND = "spachc export {path} --onnx OUT.onnx"


@dataclass
class ModelToExport:
    spec: Spec
    model: torch.nn.Module  # eval mode
    weights: str  # where the weights came from, e.g. "initialisation (seed 0)"
    trained: bool  # False: the weights are an initialisation
    info: ModelInfo  # preprocessing and labels to record


def model_to_export(source: str | Path | Spec, weights: str | Path | None = None, overrides=(), seed: int = 0,
                    max_params: int = DEFAULT_MAX_PARAMS,
                    max_activation_gb: float = DEFAULT_MAX_ACTIVATION_GB) -> ModelToExport:
    """`source`: a Spec, a .spach path, a zoo name, a spachc .safetensors, a model folder or a
    state.pt; `weights` (only for a spec): .safetensors, state.pt or the paper's .pth."""
    from .create import build_loaded, overridden
    from .sources import load_weights_for, spec_and_weights

    if isinstance(source, Spec):
        spec, state = (overridden(source, overrides) if overrides else source), None
    else:
        spec, state = spec_and_weights(str(source), list(overrides))
    enforce(spec, max_params, max_activation_gb)
    described = f"spachc checkpoint {_named(source)}" if state is not None else f"initialisation (seed {seed})"
    if weights is not None:
        if state is not None:
            raise UserError(f"{source} already holds weights; --weights {weights} would replace them",
                            code="E902", hint=f"export {weights} directly, or give a spec instead of {source}")
        state, described = load_weights_for(spec, Path(weights), own_spec_command=OWN_SPEC_COMMAND)
    torch.manual_seed(seed)
    model = build_loaded(spec, state, max_params=max_params)
    origin = weights if weights is not None else (None if isinstance(source, Spec) else source)
    return ModelToExport(spec, model.eval(), described, state is not None, info_to_export(origin, spec))


def info_to_export(origin: str | Path | None, spec: Spec) -> ModelInfo:
    """The preprocessing and labels recorded with the weights being exported (spachc.metadata);
    the defaults, with a note, for an initialisation, an official checkpoint, a training
    state.pt (it records none) or an old file."""
    from .folder import model_info
    from .metadata import default_preprocessing
    from .sources import is_weights_file

    if origin is not None and is_weights_file(origin) and not str(origin).endswith(".pt"):
        return model_info(origin, spec)
    pre = default_preprocessing(spec.input, spec.channels)
    return ModelInfo(pre, note=f"no preprocessing recorded with {origin if origin is not None else spec.name}; "
                               f"writing the defaults: {pre.describe()} (give --mean/--std to record others)")


def _named(source) -> str:
    """A weights file by its name; a model or training run folder by the file it stands for."""
    from .kinds import model_file

    path = Path(str(source))
    return str(model_file(path)) if path.is_dir() else path.name
