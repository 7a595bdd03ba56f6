"""Precision names and the rule that picks one (torch-free, so every CLI module may import it).

`fp32`, `bf16` or `auto`. bf16 inference stores the weights in bf16 (spachc/nn/precision.py
says how and what stays fp32). The `auto` rule: bf16 on a CPU whose flags (/proc/cpuinfo)
include `amx_bf16` or `avx512_bf16` (hardware bf16 dot products: bf16 GEMMs run several times
faster than fp32 there), and on CUDA devices of compute capability 8.0 or newer; fp32
everywhere else, where bf16 would be emulated and slower. Every command that runs a model
reports the precision it used.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from ..diagnostics import UserError

PRECISIONS = ("fp32", "bf16", "auto")
BF16_CPU_FLAGS = ("amx_bf16", "avx512_bf16")
PRECISION_HELP = ("fp32, bf16 (weights stored in bf16, fp32 logits) or auto (bf16 where the CPU has AMX or "
                  "AVX-512 bf16, or on CUDA capability 8+; fp32 elsewhere).")


class PrecisionError(UserError):
    """A precision that is not one of PRECISIONS."""

    code = "E1016"


@lru_cache(maxsize=1)
def cpu_flags() -> frozenset[str]:
    """The CPU feature flags Linux reports (empty where /proc/cpuinfo is absent)."""
    try:
        text = Path("/proc/cpuinfo").read_text(errors="replace")
    except OSError:
        return frozenset()
    for line in text.splitlines():
        if line.startswith("flags"):
            return frozenset(line.split(":", 1)[1].split())
    return frozenset()


def bf16_hardware(device="cpu") -> bool:
    """Does `device` (a torch.device or its name) compute bf16 in hardware? The module's rule."""
    kind = getattr(device, "type", str(device).split(":")[0])
    if kind == "cuda":
        import torch

        return torch.cuda.is_available() and torch.cuda.get_device_capability(device)[0] >= 8
    return kind == "cpu" and any(flag in cpu_flags() for flag in BF16_CPU_FLAGS)


# Training: bf16 autocast costs a cast per op, which only pays where the GEMMs are big enough.
# Measured here (AMX CPU, 2 threads, one alternating run): digits_small at batch 32 (41 MMACs a
# step) took 0.70x as long in fp32 as with bf16 autocast (autocast slower); trans_ms_xxs at batch 8
# (5 GMACs a step) ran 1.28x faster with it. `auto` trains in bf16 from this many MACs a step.
AUTOCAST_MIN_MACS_PER_STEP = 10**9


def training_autocast(device, macs_per_step: int) -> bool:
    """`--amp auto` on `device`: bf16 autocast on CUDA capability 8+, and on a bf16-hardware CPU
    for steps of at least AUTOCAST_MIN_MACS_PER_STEP; fp32 elsewhere."""
    kind = getattr(device, "type", str(device).split(":")[0])
    if kind == "cpu" and macs_per_step < AUTOCAST_MIN_MACS_PER_STEP:
        return False
    return bf16_hardware(device)


def resolve_precision(name: str, device="cpu") -> str:
    """'fp32' or 'bf16' for a requested precision on `device`."""
    if name not in PRECISIONS:
        raise PrecisionError(f"unknown precision '{name}': use {', '.join(PRECISIONS)}")
    if name == "auto":
        return "bf16" if bf16_hardware(device) else "fp32"
    return name
