"""Where and how a model runs: the device, mixed precision, DataLoader workers.

One small module shared by train, eval and bench, so that `--device cuda` without CUDA
is the same coded error everywhere, autocast means the same thing in all three, and bench
times the optimizer kernel training uses.
"""

from __future__ import annotations

import contextlib
import signal

import torch

from ..diagnostics import UserError
from .stopping import STOP_SIGNALS

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
    """The autocast dtype of a mode: `auto` follows spachc/runtime/precision.py's rule (bf16 where it pays)."""
    if mode == "auto":
        from .precision import training_autocast

        return torch.bfloat16 if training_autocast(device, macs_per_step) else None
    return {"bf16": torch.bfloat16, "fp16": torch.float16, "off": None}[mode]


def autocast(device: torch.device, dtype: torch.dtype | None):
    if dtype is None:
        return contextlib.nullcontext()
    return torch.autocast(device_type=device.type, dtype=dtype)


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


def worker_init(_worker_id: int) -> None:
    """DataLoader workers leave Ctrl-C and SIGTERM to the main process: both reach the whole
    process group (a terminal's Ctrl-C; `timeout`, Slurm's scancel and systemd send SIGTERM to
    the group), and a worker killed by them would abort the main process with a "DataLoader
    worker killed by signal" traceback before it could checkpoint. The main process finishes
    its step, checkpoints, and then stops the workers itself (they also exit when it dies).
    Their randomness needs no seeding here: every sample carries its own seed."""
    for signum in STOP_SIGNALS:
        signal.signal(signum, signal.SIG_IGN)
