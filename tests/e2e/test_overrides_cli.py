"""`--set` errors reported by the CLI without a traceback (the keys themselves are
tests/unit/test_overrides.py)."""

from __future__ import annotations


from support.cli import run_cli
from support.paths import REPO


def test_cli_reports_override_errors_without_a_traceback():
    spec = str(REPO / "tests" / "fixtures" / "ms_hybrid_small.spach")
    result = run_cli("build", spec, "--set", "hedas=2")
    assert result.returncode == 1 and result.stdout == ""
    assert result.stderr.startswith("--set hedas=2:1:1: error[E601]: unknown --set key 'hedas'")
    assert "= hint: did you mean 'heads'?" in result.stderr and "Traceback" not in result.stderr
    result = run_cli("build", spec, "--set", "classes=3", "--set", "input=64", "--json")
    assert result.returncode == 0, result.stderr
    assert '"output_shape": [\n      1,\n      3\n    ]' in result.stdout and '"input": [\n      64,' in result.stdout
