"""Where and how a model runs: the device, mixed precision, DataLoader workers.

One small module shared by train, eval and bench, so that `--device cuda` without CUDA
is the same coded error everywhere and autocast means the same thing in all three.
"""

from __future__ import annotations

import contextlib
import signal

import torch

from .lang.diagnostics import UserError

AMP_MODES = ("auto", "bf16", "fp16", "off")


class DeviceError(UserError):
    """A device that is unknown or not present on this machine."""

    code = "E1008"


def resolve_device(name: str, local_rank: int = 0) -> torch.device:
    """`auto` is CUDA when present; a CUDA device is the local rank's GPU (under torchrun)."""
    if name == "auto":
        name = "cuda" if torch.cuda.is_available() else "cpu"
    if name == "cuda":
        if not torch.cuda.is_available():
            raise DeviceError("--device cuda: torch sees no CUDA device here", hint="use --device cpu or auto")
        torch.cuda.set_device(local_rank)
        return torch.device("cuda", local_rank)
    if name != "cpu":
        raise DeviceError(f"--device {name}: choose auto, cpu or cuda")
    return torch.device("cpu")


def amp_dtype(mode: str, device: torch.device, macs_per_step: int = 0) -> torch.dtype | None:
    """The autocast dtype of a mode: `auto` follows spachc/precision.py's rule (bf16 where it pays)."""
    if mode == "auto":
        from .precision import training_autocast

        return torch.bfloat16 if training_autocast(device, macs_per_step) else None
    return {"bf16": torch.bfloat16, "fp16": torch.float16, "off": None}[mode]


def autocast(device: torch.device, dtype: torch.dtype | None):
    if dtype is None:
        return contextlib.nullcontext()
    return torch.autocast(device_type=device.type, dtype=dtype)


def worker_init(_worker_id: int) -> None:
    """DataLoader workers leave Ctrl-C (sent to the whole process group) to the main process,
    which checkpoints and then stops them. SIGTERM keeps its default so they can be ended.
    Their randomness needs no seeding here: every sample carries its own seed."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
