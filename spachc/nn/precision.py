"""bf16 inference of a SpachNet with the weights stored in bf16.

The weights are converted once (not cast by autocast on every call); activations flow in
bf16 and the logits come back in fp32. The kernels that need a wide accumulator have one:
on CPU, LayerNorm, GroupNorm, the softmax inside scaled_dot_product_attention and GELU
compute in fp32 internally and round only their outputs; GEMMs and convolutions accumulate
in fp32 (oneDNN on AMX / AVX-512 bf16). The head (its LayerNorm, the token mean and the
classifier) runs in fp32, so the logits are not rounded to bf16's 8-bit mantissa.
Which precision `auto` picks: spachc/runtime/precision.py.
"""

from __future__ import annotations

import torch
from torch import nn

from ..runtime.precision import resolve_precision, torch_dtype


class LowPrecisionNet(nn.Module):
    """A SpachNet run in bf16 for inference: body weights stored in bf16; the head (its
    LayerNorm, the token mean, the classifier) in fp32; fp32 images in, fp32 logits out.
    The tokens are widened to fp32 by a pre-hook on `head_norm`, so the network's own
    forward runs unchanged. Parameters are frozen (requires_grad False)."""

    def __init__(self, model: nn.Module, dtype: torch.dtype = torch.bfloat16):
        super().__init__()
        model.eval().requires_grad_(False)
        for name, child in model.named_children():
            if name not in FP32_CHILDREN:
                child.to(dtype)
        model.head_norm.register_forward_pre_hook(_widen)
        self.net = model
        self.dtype = dtype

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return self.net(images.to(self.dtype))


FP32_CHILDREN = ("head_norm", "head")


def _widen(_module: nn.Module, args: tuple) -> tuple:
    return tuple(a.float() if isinstance(a, torch.Tensor) else a for a in args)


def for_inference(model: nn.Module, precision: str, device: torch.device | str = "cpu") -> tuple[nn.Module, str]:
    """`model` (a SpachNet, any device) ready for inference at `precision` (fp32|bf16|auto):
    returns the module to call and the precision actually used ('fp32' or 'bf16'). fp32
    returns the model itself in eval mode. The bf16 module converts `model` in place."""
    used = resolve_precision(precision, device)
    if used == "fp32":
        return model.eval(), used
    return LowPrecisionNet(model, torch_dtype(used)), used
