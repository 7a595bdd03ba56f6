"""Where things are: the repository root and the recorded fixtures (tests/fixtures, copies of
../shared/reference, so the suite stands on its own). One definition, wherever a test lives."""

from __future__ import annotations

from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
FIXTURES = REPO / "tests" / "fixtures"
