"""Shared test helpers. Fixtures under tests/fixtures are copies of ../shared/reference,
so the suite stands on its own."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

FIXTURES = Path(__file__).parent / "fixtures"
REPO = Path(__file__).resolve().parents[1]


@pytest.fixture
def fixtures() -> Path:
    return FIXTURES


def run_cli(*args: str, cwd: Path | None = None, input: str | None = None, timeout: float = 300,
            env: dict | None = None) -> subprocess.CompletedProcess:
    """Run `python -m spachc ARGS` in a real subprocess and capture its output."""
    return subprocess.run(
        [sys.executable, "-m", "spachc", *args], cwd=cwd or REPO, input=input, capture_output=True,
        text=True, timeout=timeout, env={**os.environ, **(env or {})},
    )
