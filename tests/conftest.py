"""Fixtures for every test, wherever it lives (tests/unit, tests/e2e). The helpers themselves
are in tests/support (`from support.cli import run_cli`); tests/fixtures holds copies of
../shared/reference, so the suite stands on its own."""

from __future__ import annotations

from pathlib import Path

import pytest
from support.cli import run_cli  # noqa: F401  (for test files not yet moved to support imports)
from support.paths import FIXTURES, REPO  # noqa: F401  (the same)


@pytest.fixture
def fixtures() -> Path:
    return FIXTURES
