"""Who trains which sample: one advisory lock file per run, `runs/<id>.lock`.

A process trains a sample only while it holds an exclusive `flock` on that sample's lock
file. The kernel drops the lock when the process dies in any way (SIGKILL included), so a
killed worker leaves no stale claim: the next `sweep run` takes the lock and resumes the run.
Two workers given the same sample (the same shard started twice, or a shard-less run beside
sharded ones) never train it at once; the second moves on. flock works across processes on
one machine and, on Linux, over NFSv4 and most cluster file systems (Lustre with -o flock,
GPFS, CephFS); on a file system without it, give every machine its own --shard.
"""

from __future__ import annotations

import fcntl
import json
import os
import socket
import time
from pathlib import Path


class Claim:
    """An exclusive hold on one sample; release() (or process death) gives it back."""

    def __init__(self, path: Path, fd: int):
        self.path, self.fd = path, fd

    def release(self) -> None:
        if self.fd >= 0:
            fcntl.flock(self.fd, fcntl.LOCK_UN)
            os.close(self.fd)
            self.fd = -1

    def __enter__(self) -> "Claim":
        return self

    def __exit__(self, *exc) -> None:
        self.release()


def try_claim(path: Path) -> Claim | None:
    """The claim on `path`, or None when another live process holds it; E1312 when the
    folder cannot take the lock file (a read-only runs/)."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    except OSError as exc:
        from .study import unwritable

        raise unwritable(path, exc) from None
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        return None
    # Who holds it, for a person looking at the folder (the lock itself is the flock).
    note = json.dumps({"host": socket.gethostname(), "pid": os.getpid(), "since": time.time()}).encode()
    os.ftruncate(fd, 0)
    os.pwrite(fd, note + b"\n", 0)
    return Claim(path, fd)


def holder(path: Path) -> dict | None:
    """Who last claimed `path` (host, pid, since), if anyone wrote it."""
    try:
        return json.loads(path.read_text(encoding="utf-8") or "null")
    except (OSError, ValueError):
        return None
