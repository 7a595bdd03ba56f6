"""Helpers shared by the tests and by benchmarks/ (no tests here).

Imported as `support.NAME`: pytest puts tests/ on sys.path (`pythonpath` in pyproject.toml),
and the benchmarks insert tests/ themselves. Tests under tests/unit and tests/e2e import
from here, never from each other, so a test file can move between the two without breaking
another.
"""
