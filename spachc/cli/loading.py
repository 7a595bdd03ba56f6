"""Turning a command's SPEC argument into a Spec (and weights, when it is a weights file)."""

from __future__ import annotations

from ..folder import is_model_folder
from ..lang.frontend import load
from ..lang.ir import Spec


def is_weights_file(arg: str) -> bool:
    """A spachc .safetensors, or a model folder (which stands for its model.safetensors)."""
    return arg.endswith(".safetensors") or is_model_folder(arg)


def load_spec_or_weights(arg: str, overrides: list[str] | None = None) -> tuple[Spec, dict | None]:
    """A .spach file or zoo name gives (spec, None); a spachc .safetensors or a model folder
    gives its embedded spec and its weights. Overrides cannot change a weights file's spec."""
    if is_weights_file(arg):
        from ..nn.weights import check_state, load_weights

        if overrides:
            from .common import UserError

            raise UserError("--set cannot change the spec stored in a weights file", code="E602",
                            hint="export the spec text, edit it, and build that instead")
        spec, state = load_weights(arg)
        check_state(spec, state, arg)
        return spec, state
    return load(arg, overrides or ()), None
