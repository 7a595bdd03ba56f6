"""Refuse absurd networks before allocating them, with an estimate and the way out."""

from __future__ import annotations

from .counts import total_cost
from ..diagnostics import SpecError, error_at
from .ir import Spec
from .kinds import KINDS

DEFAULT_MAX_PARAMS = 2_000_000_000
DEFAULT_MAX_ACTIVATION_GB = 8.0


def _gb(n_bytes: float) -> str:
    return f"{n_bytes / 2**30:,.1f} GiB"


def check_params(spec: Spec, max_params: int = DEFAULT_MAX_PARAMS) -> int:
    params = total_cost(spec).params
    if params > max_params:
        raise SpecError([error_at(
            "E701", f"{spec.name} has {params:,} parameters ({_gb(4 * params)} in fp32); "
            f"the limit is {max_params:,}", None,
            hint=f"raise it with --max-params {params} if you mean it")])
    return params


def activation_bytes(spec: Spec) -> int:
    """Largest single fp32 activation for one image: token maps, MLP hiddens, attention."""
    biggest = 0
    for stage in spec.stages:
        width = max(stage.dim, stage.channel_hidden)
        biggest = max(biggest, stage.tokens * width)
        for kind in stage.kinds:
            biggest = max(biggest, KINDS[kind].activation(stage))
    h, w = spec.input
    biggest = max(biggest, h * w * spec.channels)
    return 4 * biggest


def enforce(spec: Spec, max_params: int = DEFAULT_MAX_PARAMS,
            max_activation_gb: float = DEFAULT_MAX_ACTIVATION_GB) -> None:
    """Both limits, checked from the IR alone: call before importing torch or allocating."""
    check_params(spec, max_params)
    check_activations(spec, max_activation_gb)


def check_activations(spec: Spec, max_gb: float = DEFAULT_MAX_ACTIVATION_GB) -> None:
    need = activation_bytes(spec)
    if need > max_gb * 2**30:
        raise SpecError([error_at(
            "E702", f"{spec.name} needs a {_gb(need)} activation for a single image; "
            f"the limit is {max_gb:g} GiB", None,
            hint=f"raise it with --max-activation-gb {need / 2**30:.0f} if you mean it")])
