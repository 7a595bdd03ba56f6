"""The command line as a user runs it: `python -m spachc ARGS` in a real subprocess
(tests/e2e only; tests/unit starts no process, see tests/unit/conftest.py)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from support.paths import REPO


def spachc_cmd(*args: str) -> list[str]:
    return [sys.executable, "-m", "spachc", *args]


def env() -> dict:
    return {**os.environ, "PYTHONUNBUFFERED": "1"}


def run_cli(*args: str, cwd: Path | None = None, input: str | None = None, timeout: float = 300,
            env: dict | None = None) -> subprocess.CompletedProcess:
    """Run `python -m spachc ARGS` in a real subprocess and capture its output."""
    return subprocess.run(
        [sys.executable, "-m", "spachc", *args], cwd=cwd or REPO, input=input, capture_output=True,
        text=True, timeout=timeout, env={**os.environ, **(env or {})},
    )
