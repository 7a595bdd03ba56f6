"""Stopping on SIGINT/SIGTERM with a coded message, outside the training loop's own checkpointing stop.

Both signals usually reach the whole process group: a terminal's Ctrl-C, and `timeout`, Slurm's
scancel and systemd's SIGTERM. A command that has nothing to save (eval, a sweep between two runs)
stops at once with E1040 and exit 128 + signal, instead of a KeyboardInterrupt traceback (SIGINT)
or a silent death (SIGTERM). No torch here: commands wrap themselves before importing it.
"""

from __future__ import annotations

import contextlib
import functools
import signal

from ..diagnostics import UserError
from ..diagnostics.codes import E1040

STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)


class StopRequested(UserError):
    """A stop signal arrived; every file the command finished writing is complete (writes are atomic)."""

    code, severity = E1040, "stopped"

    def __init__(self, signum: int, what: str):
        super().__init__(f"{signal.Signals(signum).name}: {what} stopped before its end; every file it finished "
                         "writing is complete", hint="run the same command again to start over")
        self.exit_code = 128 + signum


_state = {"what": None, "deferring": 0, "pending": None}


@contextlib.contextmanager
def stop_on_signals(what: str):
    """SIGINT/SIGTERM raise StopRequested, at once or, inside `batch_boundaries()`, at the next
    boundary. The training loop installs its own (checkpoint at the next step boundary) handlers
    inside this and restores these when it returns."""

    def handle(signum, _frame):
        if _state["deferring"] and _state["pending"] is None:
            _state["pending"] = signum  # a second signal stops at once
            return
        raise StopRequested(signum, what)

    previous = {s: signal.signal(s, handle) for s in STOP_SIGNALS}
    saved = dict(_state)
    _state.update(what=what, pending=None)
    try:
        yield
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)
        _state.update(saved)


@contextlib.contextmanager
def batch_boundaries():
    """Defer a stop to the next `stop_point()`: a stop raised while a DataLoader hands a batch
    over (file descriptors passed between processes) leaves its workers' sharing threads
    half-way, and they print tracebacks of their own."""
    _state["deferring"] += 1
    try:
        yield
    finally:
        _state["deferring"] -= 1
    stop_point()


def stop_point() -> None:
    """Raise the deferred stop, if a signal arrived (a no-op outside stop_on_signals)."""
    signum = _state["pending"]
    if signum is not None:
        _state["pending"] = None
        raise StopRequested(signum, _state["what"] or "the command")


def stops_on_signals(what: str):
    """Decorator form of stop_on_signals for a command function."""

    def wrap(command):
        @functools.wraps(command)
        def wrapper(*args, **kwargs):
            with stop_on_signals(what):
                return command(*args, **kwargs)

        return wrapper

    return wrap


def worker_init(_worker_id: int) -> None:
    """DataLoader workers leave Ctrl-C and SIGTERM to the main process: both reach the whole
    process group (a terminal's Ctrl-C; `timeout`, Slurm's scancel and systemd send SIGTERM to
    the group), and a worker killed by them would abort the main process with a "DataLoader
    worker killed by signal" traceback before it could checkpoint. The main process finishes
    its step, checkpoints, and then stops the workers itself (they also exit when it dies).
    Their randomness needs no seeding here: every sample carries its own seed."""
    for signum in STOP_SIGNALS:
        signal.signal(signum, signal.SIG_IGN)
