"""Thread and wait policy for OpenMP, set before torch is imported.

Why: torch's CPU kernels run on OpenMP threads that, by default, spin for a while after each
parallel region waiting for more work. Alone on a machine that is free speed; beside another
busy process the spinning threads steal the very cores the working threads need, and every
barrier waits for a descheduled thread: `make demo`'s training took 612 s instead of ~25 s
next to one CPU-bound process. OpenMP reads its environment once, when torch loads it, so
the CLI calls `configure()` before any command imports torch.

The knobs, in order of precedence (README, "Threads"):
- `spachc --threads N COMMAND ...` or `SPACHC_THREADS=N`: N torch threads;
- `OMP_NUM_THREADS`: honoured as set when neither of the above is given;
- otherwise the CPUs this process may use (its affinity mask, capped by a cgroup CPU quota),
  where torch would count every physical core of the host;
- `OMP_WAIT_POLICY`: PASSIVE (threads sleep at barriers) unless the user set it; ACTIVE
  gives back the spin-waiting default for a machine known to be otherwise idle.

This module never imports torch.
"""

from __future__ import annotations

import math
import os
import sys
from pathlib import Path

from ..diagnostics import UserError
from ..diagnostics.codes import E1410

THREADS_ENV = "SPACHC_THREADS"
DEFAULT_WAIT_POLICY = "PASSIVE"


def available_cpus() -> int:
    """CPUs this process can actually run on: the affinity mask, capped by a cgroup v2 quota."""
    try:
        cpus = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        cpus = os.cpu_count() or 1
    try:
        quota, period = Path("/sys/fs/cgroup/cpu.max").read_text().split()[:2]
        if quota != "max":
            cpus = min(cpus, max(1, math.floor(int(quota) / int(period))))
    except (OSError, ValueError):
        pass
    return max(1, cpus)


def parse_threads(text: str | None) -> int | None:
    """A positive thread count from an environment value, or None when unset or not one."""
    if text is None or not text.strip().isdigit() or int(text) < 1:
        return None
    return int(text)


def configure(threads: int | None = None, environ: dict | None = None) -> int:
    """Set the OpenMP wait policy and thread count in `environ` (default: os.environ) and,
    if torch is already loaded, its thread count too. Returns the thread count chosen."""
    env = os.environ if environ is None else environ
    env.setdefault("OMP_WAIT_POLICY", DEFAULT_WAIT_POLICY)
    chosen = threads or parse_threads(env.get(THREADS_ENV))
    if chosen is None:
        chosen = parse_threads(env.get("OMP_NUM_THREADS")) or available_cpus()
    env["OMP_NUM_THREADS"] = str(chosen)
    if environ is None and "torch" in sys.modules:
        sys.modules["torch"].set_num_threads(chosen)
    return chosen


class ThreadsError(UserError):
    """A thread count below 1."""

    code = E1410


def set_threads(threads: int) -> int:
    """`--threads N`: `configure(N)`, after checking that N is a count of threads."""
    if threads < 1:
        raise ThreadsError(f"--threads {threads}: a thread count is at least 1",
                           hint=f"leave --threads out to use the CPUs this process may use ({available_cpus()} here)")
    return configure(threads)
