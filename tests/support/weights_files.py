"""Helpers of the tests of models on disk (tests/unit/test_model_io.py and its commands,
tests/e2e/test_model_io_cli.py): the code of the one diagnostic a call raises, and a weights
file's JSON header edited in place."""

from __future__ import annotations

import json
import struct
from pathlib import Path

import pytest

from spachc.diagnostics import DiagnosticError


def code_of(call) -> str:
    with pytest.raises(DiagnosticError) as caught:
        call()
    return caught.value.diagnostics[0].code


def rewrite_header(path: Path, edit) -> None:
    """Apply `edit` to the parsed JSON header and write the file back (data untouched)."""
    data = path.read_bytes()
    (length,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8:8 + length])
    edit(header)
    text = json.dumps(header).encode()
    text += b" " * (-len(text) % 8)
    path.write_bytes(struct.pack("<Q", len(text)) + text + data[8 + length:])
