"""Fused CPU kernels: a linear layer with its bias, GELU or residual add in the GEMM's epilogue.

On CPU, `aten::linear` runs the GEMM, then a separate pass for the bias copy, then another
for the activation or the residual add; oneDNN's (mkldnn) pointwise-fused linear does it in
one pass over the output. Same arithmetic (fp32 GEMM, exact erf GELU, one fp32 add); only
the memory traffic changes. torch.compile's inductor uses the same kernels on CPU.

The fused kernels have no autograd: `fusable` holds where no graph is recorded
(`torch.no_grad`/`inference_mode`), for fp32 or stored-bf16 weights on CPU, outside autocast, and
never while torch.compile, torch.export or ONNX export trace the model (those see the plain ops).
In fp32 CPU training (`fusable_with_grad`) the linear layers keep their bias and residual
epilogues through spachc/nn/fused_grad.py's backward, and GELU runs as its own autograd op.
Everywhere else the plain ops run, computing the same function.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from .fused_grad import FusedLinear

try:  # private, but stable since torch 2.0; without it no dispatch mode is detected
    from torch.utils._python_dispatch import _get_current_dispatch_mode
except ImportError:  # pragma: no cover
    def _get_current_dispatch_mode():
        return None

_MKLDNN = getattr(torch.ops, "mkldnn", None)
AVAILABLE = (
    torch.backends.mkldnn.is_available()
    and _MKLDNN is not None
    and hasattr(_MKLDNN, "_linear_pointwise")
)


def _bf16_kernels() -> bool:
    """Whether oneDNN has bf16 GEMM kernels on this CPU (avx512_bf16/AMX, or AVX-512 with its
    emulation): on an AVX2-only CPU (AMD EPYC Zen 2) it has none, and `_linear_pointwise` on
    bf16 tensors raises "could not create a primitive descriptor" instead of running."""
    probe = getattr(_MKLDNN, "_is_mkldnn_bf16_supported", None)
    try:
        return bool(probe()) if probe is not None else False
    except RuntimeError:  # pragma: no cover
        return False


# fp32 (exact: the same arithmetic as the plain ops) and, where oneDNN has bf16 kernels, bf16
# (the stored-bf16 inference of spachc/nn/precision.py: the GEMM on AMX or avx512_bf16, the
# epilogue in fp32). Elsewhere bf16 runs the plain aten ops, which compute it on any CPU.
FUSED_DTYPES = (torch.float32, torch.bfloat16) if AVAILABLE and _bf16_kernels() else (torch.float32,)


def _tracing() -> bool:
    """Whether something is watching the ops: a compiler or exporter tracing the model, or a
    dispatch mode (torch's FlopCounterMode, fake tensors) that knows the aten ops, not oneDNN's."""
    return (torch.compiler.is_compiling() or torch.jit.is_tracing() or torch.onnx.is_in_onnx_export()
            or torch.compiler.is_exporting() or _get_current_dispatch_mode() is not None)


def fusable(x: torch.Tensor) -> bool:
    """True where the fused kernels may run for input `x` (see the module docstring)."""
    return (
        AVAILABLE
        and not torch.is_grad_enabled()
        and x.device.type == "cpu"
        and x.dtype in FUSED_DTYPES
        and not torch.is_autocast_enabled("cpu")
        and not _tracing()
    )


# Off: training takes the plain aten linears. Benchmarks (compare.py --plain-grad, grad_kernels.py,
# profile_step.py --plain-grad) and tests switch it to time or check those in the same process.
GRAD_KERNELS = True


def fusable_with_grad(x: torch.Tensor) -> bool:
    """True where a training forward (autograd on) may run the fused linears, fp32 CPU only."""
    return (
        GRAD_KERNELS
        and AVAILABLE
        and torch.is_grad_enabled()
        and x.device.type == "cpu"
        and x.dtype == torch.float32
        and not torch.is_autocast_enabled("cpu")
        and not _tracing()
    )


def fused_kernels(x: torch.Tensor) -> bool:
    """Where `linear`, `linear_gelu` and `linear_add` may take `fused=True`: with or without autograd."""
    return fusable(x) or fusable_with_grad(x)


def linear_gelu(x: torch.Tensor, layer: nn.Linear, fused: bool) -> torch.Tensor:
    """gelu(layer(x)), exact (erf) GELU."""
    if fused and not torch.is_grad_enabled():
        return torch.ops.mkldnn._linear_pointwise(x, layer.weight, layer.bias, "gelu", [], "none")
    return F.gelu(linear(x, layer, fused))


def linear(x: torch.Tensor, layer: nn.Linear, fused: bool) -> torch.Tensor:
    if fused and torch.is_grad_enabled():
        return FusedLinear.apply(x, layer.weight, layer.bias, None)
    if fused:
        return torch.ops.mkldnn._linear_pointwise(x, layer.weight, layer.bias, "none", [], "")
    return layer(x)


def linear_add(x: torch.Tensor, layer: nn.Linear, residual: torch.Tensor, fused: bool) -> torch.Tensor:
    """residual + layer(x)."""
    if fused and torch.is_grad_enabled():
        return FusedLinear.apply(x, layer.weight, layer.bias, residual)
    if fused:
        return torch.ops.mkldnn._linear_pointwise.binary(x, residual, layer.weight, layer.bias, "add")
    return residual + layer(x)
