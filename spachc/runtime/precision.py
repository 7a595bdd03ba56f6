"""Precision and device, decided in one place: the names, their torch dtypes, the `auto` rule,
autocast, and the device a command runs on.

Why one module: the same word must mean the same thing in every command. `--dtype bf16` is the
same bfloat16 for eval, bench and export; `auto` is one rule; an unknown name is one error
(E1016) and a device that is unknown or absent another (E1008), wherever they are given.

Torch-free on import (check, fmt and diff load the CLI, which loads this module, and must not
load torch): the functions that need torch import it when called.

Names. PRECISIONS are fp32, bf16, fp16 and auto; TORCH_DTYPES maps the first three to torch's
dtypes (the one table). A command takes a subset: eval and bench run a model in INFERENCE
(fp32, bf16, auto: bf16 stores the weights in bf16, spachc/nn/precision.py); export writes
FILE_PRECISIONS (fp32, bf16, fp16). Autocast (`--amp`) takes AUTOCAST_MODES: auto, bf16, fp16
or off (off: fp32, no autocast).

The `auto` rule (auto_precision): bf16 on a CPU whose flags (/proc/cpuinfo) include `amx_bf16`
or `avx512_bf16` (hardware bf16 dot products: bf16 GEMMs run several times faster than fp32
there), and on CUDA devices of compute capability 8.0 or newer; fp32 everywhere else, where
bf16 would be emulated and slower. Training on a CPU also needs steps large enough for
autocast to pay (AUTOCAST_MIN_MACS_PER_STEP). Every command that runs a model reports the
precision it used. A device `auto` is CUDA when torch sees one, else the CPU.
"""

from __future__ import annotations

import contextlib
from functools import lru_cache
from pathlib import Path

from ..diagnostics import UserError
from ..diagnostics.codes import E1008, E1016

PRECISIONS = ("fp32", "bf16", "fp16", "auto")
TORCH_DTYPES = {"fp32": "float32", "bf16": "bfloat16", "fp16": "float16"}  # name -> torch.<attribute>
INFERENCE = ("fp32", "bf16", "auto")  # what eval and bench run a model in
FILE_PRECISIONS = ("fp32", "bf16", "fp16")  # what export writes
AUTOCAST_MODES = ("auto", "bf16", "fp16", "off")  # --amp; off is fp32 without autocast
DEVICES = ("auto", "cpu", "cuda")
BF16_CPU_FLAGS = ("amx_bf16", "avx512_bf16")

# What each name means, for help texts built from a command's subset (one wording everywhere).
MEANINGS = {
    "auto": "auto (bf16 on a CPU with AMX or AVX-512 bf16, or CUDA 8.0+; fp32 elsewhere)",
    "off": "off (fp32)",
}
# Why a command cannot take a name, and where it is taken: the hint of that error.
USES = {
    "fp16": "fp16 is a precision of files (export --dtype fp16) and of training's autocast (--amp fp16), "
            "not of inference",
    "auto": "a file's precision is named when it is written; auto is decided where a model runs (eval and "
            "bench --dtype auto)",
    "--amp auto": "--amp auto is training's rule, which depends on the size of a step (train --amp auto); "
                  "name the autocast to time",
}


class PrecisionError(UserError):
    """A precision (or autocast mode) that is unknown, or one the command cannot take."""

    code = E1016


class DeviceError(UserError):
    """A device that is unknown or not present on this machine."""

    code = E1008


def _either(names) -> str:
    """('a', 'b', 'c') -> 'a, b or c'."""
    names = list(names)
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " or " + names[-1]


def describe(allowed) -> str:
    """The one help text of a precision option: its values, in the order given, each with its meaning."""
    return _either(MEANINGS.get(name, name) for name in allowed) + "."


def choose(value: str, allowed, *, command: str, option: str = "--dtype") -> str:
    """`value` if `command` takes it. A name spachc does not know, and a known one this command
    cannot take, are the same error (E1016); the second says what the command takes."""
    autocast_mode = option == "--amp"
    known = AUTOCAST_MODES if autocast_mode else PRECISIONS
    if value not in known:
        family = "autocast modes are " + ", ".join(known) + " (off: fp32)" if autocast_mode else \
            "precisions are " + ", ".join(known)
        raise PrecisionError(f"{option} '{value}' is not one of: {', '.join(allowed)}", hint=f"spachc's {family}")
    if value not in allowed:
        raise PrecisionError(f"{command} cannot run {option} {value} here: it takes {_either(allowed)}",
                             hint=USES.get(f"{option} {value}", USES.get(value)))
    return value


def torch_dtype(name: str):
    """The torch dtype of a precision name (fp32, bf16, fp16)."""
    import torch

    if name not in TORCH_DTYPES:
        raise PrecisionError(f"precision '{name}' names no torch dtype: use {_either(TORCH_DTYPES)}")
    return getattr(torch, TORCH_DTYPES[name])


def precision_name(dtype) -> str:
    """The name of a torch dtype ('fp32' for None: no autocast)."""
    if dtype is None:
        return "fp32"
    text = str(dtype).removeprefix("torch.")
    return next(name for name, attribute in TORCH_DTYPES.items() if attribute == text)


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
    """Does `device` (a torch.device or its name) compute bf16 in hardware?"""
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


def auto_precision(device="cpu", macs_per_step: int | None = None) -> str:
    """The one `auto` rule: 'bf16' where `device` computes bf16 in hardware, else 'fp32'. For
    training (`macs_per_step` given) a CPU also needs steps of AUTOCAST_MIN_MACS_PER_STEP."""
    kind = getattr(device, "type", str(device).split(":")[0])
    if macs_per_step is not None and kind == "cpu" and macs_per_step < AUTOCAST_MIN_MACS_PER_STEP:
        return "fp32"
    return "bf16" if bf16_hardware(device) else "fp32"


def resolve_precision(name: str, device="cpu") -> str:
    """'fp32' or 'bf16': the inference precision `name` (fp32, bf16 or auto) on `device`."""
    choose(name, INFERENCE, command="inference", option="precision")
    return auto_precision(device) if name == "auto" else name


def amp_dtype(mode: str, device, macs_per_step: int = 0):
    """The autocast dtype of `--amp MODE` on `device` (None: fp32, no autocast); `auto` follows
    the rule above for steps of `macs_per_step`."""
    choose(mode, AUTOCAST_MODES, command="autocast", option="--amp")
    name = auto_precision(device, macs_per_step) if mode == "auto" else "fp32" if mode == "off" else mode
    return None if name == "fp32" else torch_dtype(name)


def autocast(device, dtype):
    """Autocast to `dtype` on `device`'s type; no autocast for None."""
    if dtype is None:
        return contextlib.nullcontext()
    import torch

    return torch.autocast(device_type=device.type, dtype=dtype)


def check_device(name: str) -> str:
    """`name` if it is a device spachc runs on (torch-free: the CLI checks it while parsing)."""
    if name not in DEVICES:
        raise DeviceError(f"--device {name}: choose {_either(DEVICES)}", hint="auto is CUDA when present, else cpu")
    return name


def resolve_device(name: str, local_rank: int = 0):
    """The torch.device of `--device NAME`: `auto` is CUDA when present; a CUDA device is the
    local rank's GPU (under torchrun)."""
    import torch

    check_device(name)
    if name == "auto":
        name = "cuda" if torch.cuda.is_available() else "cpu"
    if name == "cuda":
        if not torch.cuda.is_available():
            raise DeviceError("--device cuda: torch sees no CUDA device here", hint="use --device cpu or auto")
        torch.cuda.set_device(local_rank)
        return torch.device("cuda", local_rank)
    return torch.device("cpu")
