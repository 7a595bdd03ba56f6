"""Which AdamW kernel a run uses: `spachc train` and `spachc bench --mode train` ask here, so
that bench times the optimizer step training takes."""

from __future__ import annotations

import torch

FUSED_ADAMW_MIN_PARAMS = 1_000_000


def fused_adamw(device: torch.device, model: torch.nn.Module) -> bool:
    """Whether AdamW runs its fused kernel: one pass per parameter for all of Adam's arithmetic
    instead of ~8 elementwise ops each. Always on CUDA; on CPU from 1M parameters, where it
    pays (2-core CPU: a training step 1.07x on hybrid_s, optimizer.step 230 -> 67 ms; 1.11x on
    conv_ms_xxs), not below (0.98x on the 66K-parameter demo model, where its per-tensor
    set-up dominates). benchmarks/optimizer_step.py, RESULTS section 6. Parameters differ from
    the op-by-op optimizer only by rounding (max 1.5e-05 after three steps on hybrid_s)."""
    if device.type == "cuda":
        return True
    return device.type == "cpu" and sum(p.numel() for p in model.parameters()) >= FUSED_ADAMW_MIN_PARAMS
