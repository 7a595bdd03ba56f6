"""Turning a command's SPEC argument into a Spec (and weights, when it is a weights file):
the package's dispatch (sources.py), under the names the commands use, and `-e TEXT`."""

from __future__ import annotations

from ..lang.frontend import EXPR_SOURCE, load, parse  # noqa: F401
from ..lang.ir import Spec
from ..diagnostics import UserError
from .sources import is_weights_file, spec_and_weights as load_spec_or_weights  # noqa: F401


def spec_argument(spec: str | None, expr: str | None) -> tuple[str | None, str | None]:
    """Exactly one of a SPEC argument and `-e TEXT` (a spec written on the command line)."""
    if (spec is None) == (expr is None):
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
