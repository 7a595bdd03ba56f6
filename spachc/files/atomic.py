"""The one way spachc writes a file: under a temporary name beside it, then renamed.

A reader never sees a half-written file under the final name, and a failure (a full
disk, a failed verification, Ctrl-C) leaves the previous file as it was. Torch-free.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path
from typing import Iterator


@contextlib.contextmanager
def publishing(path: str | Path, suffix: str = ".tmp", mode: int | None = None,
               parents: bool = True) -> Iterator[Path]:
    """Yield a fresh temporary path beside `path`; when the block succeeds it is renamed
    to `path` (and the folder synced), when it raises the temporary file is removed.
    `mode`: the permissions to publish with (default: 0666 less the umask); `parents`:
    create missing folders (a user's `-o missing/x` is refused instead)."""
    path = Path(path)
    tmp = temporary_beside(path, suffix, mode, parents)
    try:
        yield tmp
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    _sync_folder(path.parent)


def temporary_beside(path: str | Path, suffix: str = ".tmp", mode: int | None = None,
                     parents: bool = True) -> Path:
    """A fresh empty file beside `path` (same file system, so a rename onto `path` is atomic),
    for writers that must rename themselves (an ONNX graph with external data, a hard link
    that must fail if the name exists). Permissions as `publishing`."""
    path = Path(path)
    if parents:
        path.parent.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=suffix)
    os.close(fd)
    os.chmod(name, mode if mode is not None else 0o666 & ~_umask())  # mkstemp's 0600 would make it private
    return Path(name)


def write_atomically(path: str | Path, data: bytes, mode: int | None = None, parents: bool = True) -> None:
    """Write `data` to `path` through `publishing`, fsynced before the rename."""
    with publishing(path, mode=mode, parents=parents) as tmp:
        with open(tmp, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())


def _sync_folder(folder: Path) -> None:
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask
