"""Fused CPU inference kernels: a linear layer with its GELU or its residual add in the epilogue.

On CPU, `aten::linear` runs the GEMM, then a separate pass for the bias copy, then another
for the activation or the residual add; oneDNN's (mkldnn) pointwise-fused linear does it in
one pass over the output. Same arithmetic (fp32 GEMM, exact erf GELU, one fp32 add); only
the memory traffic changes. torch.compile's inductor uses the same kernels on CPU.

The fused kernels have no autograd, so they are used only where no graph is recorded
(`torch.no_grad`/`inference_mode`), for fp32 or stored-bf16 weights on CPU, outside autocast, and never while
torch.compile, torch.export or ONNX export trace the model (those see the plain ops).
Everywhere else the plain ops run, computing the same function.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

_MKLDNN = getattr(torch.ops, "mkldnn", None)
AVAILABLE = (
    torch.backends.mkldnn.is_available()
    and _MKLDNN is not None
    and hasattr(_MKLDNN, "_linear_pointwise")
)


# fp32 (exact: the same arithmetic as the plain ops) and bf16 (the stored-bf16 inference of
# spachc/nn/precision.py, where oneDNN runs the GEMM on AMX and the epilogue in fp32).
FUSED_DTYPES = (torch.float32, torch.bfloat16)


def _tracing() -> bool:
    return (torch.compiler.is_compiling() or torch.jit.is_tracing() or torch.onnx.is_in_onnx_export()
            or torch.compiler.is_exporting())


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


def linear_gelu(x: torch.Tensor, layer: nn.Linear, fused: bool) -> torch.Tensor:
    """gelu(layer(x)), exact (erf) GELU."""
    if fused:
        return torch.ops.mkldnn._linear_pointwise(x, layer.weight, layer.bias, "gelu", [], "none")
    return F.gelu(layer(x))


def linear(x: torch.Tensor, layer: nn.Linear, fused: bool) -> torch.Tensor:
    if fused:
        return torch.ops.mkldnn._linear_pointwise(x, layer.weight, layer.bias, "none", [], "")
    return layer(x)


def linear_add(x: torch.Tensor, layer: nn.Linear, residual: torch.Tensor, fused: bool) -> torch.Tensor:
    """residual + layer(x)."""
    if fused:
        return torch.ops.mkldnn._linear_pointwise.binary(x, residual, layer.weight, layer.bias, "add")
    return residual + layer(x)
