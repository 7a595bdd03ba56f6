"""Turning a command's SPEC argument into a Spec (and weights, when it is a weights file):
the library's dispatch, spachc.nn.sources, under the names the commands use."""

from __future__ import annotations

from ..lang.frontend import load  # noqa: F401
from ..sources import is_weights_file, spec_and_weights as load_spec_or_weights  # noqa: F401
