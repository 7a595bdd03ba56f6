"""The errors of data that cannot be used, in a module of their own so that every part of
spachc.datasets (folders, built-ins, the decoding transforms) raises the same class without
importing the others."""

from __future__ import annotations

from ..diagnostics import UserError
from ..diagnostics.codes import E1001


class DataError(UserError):
    """Data that cannot be used: a missing split, an empty class, an unreadable image."""

    code = E1001


def worker_error_message(exc: DataError) -> str:
    """The original message of a DataError, also when a DataLoader worker raised it (torch
    re-raises it in the main process wrapped in the worker's traceback text)."""
    text = str(exc).strip()
    if not text.startswith("Caught ") or "Original Traceback" not in text:
        return text
    last = text.splitlines()[-1]
    return last.split("DataError: ", 1)[-1]
