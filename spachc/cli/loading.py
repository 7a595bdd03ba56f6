"""Turning a command's SPEC argument into a Spec (and weights, when it is a weights file)."""

from __future__ import annotations

from ..folder import is_model_folder
from ..lang.frontend import EXPR_SOURCE, load, parse
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


def spec_argument(spec: str | None, expr: str | None) -> tuple[str | None, str | None]:
    """Exactly one of a SPEC argument and `-e TEXT` (a spec written on the command line)."""
    if (spec is None) == (expr is None):
        from .common import UserError

        raise UserError("give either a SPEC or -e TEXT" + (", not both" if spec is not None else ""), code="E008",
                        hint="e.g. spachc build hybrid_s, or spachc build -e 'stage conv x2 dim 96 -> down -> "
                             "stage trans x6'")
    return spec, expr


def load_spec_text_or_weights(spec: str | None, expr: str | None,
                              overrides: list[str] | None = None) -> tuple[Spec, dict | None]:
    """`load_spec_or_weights` for SPEC, or the spec text given with -e."""
    spec, expr = spec_argument(spec, expr)
    if expr is not None:
        return parse(expr, EXPR_SOURCE, overrides or ()), None
    return load_spec_or_weights(spec, overrides)
