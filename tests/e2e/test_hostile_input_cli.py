"""Inputs that are not specs at all, given to the commands: the code and no traceback, a bad spec
reported before torch is imported, absurd networks refused before allocation (the front end
alone is tests/unit/test_hostile_input.py)."""

from __future__ import annotations

import pytest
from support.cli import run_cli
from support.hostile import spec_cases


@pytest.mark.parametrize("command", ["check", "build", "fmt"])
def test_commands_answer_with_the_code_and_no_traceback(tmp_path, command):
    for path, code, _ in spec_cases(tmp_path).values():
        result = run_cli(command, str(path))
        assert result.returncode == 1, (command, path, result.stderr)
        assert f"error[{code}]" in result.stderr and "Traceback" not in result.stderr
        assert result.stderr.count("error[") == 1


def test_build_reports_a_bad_spec_before_importing_torch(tmp_path):
    import subprocess
    import sys

    bad = tmp_path / "bad.spach"
    bad.write_text("input 32 stem patch 4 stage tran x1 dim 8")
    probe = (
        "import sys\nfrom spachc.cli.app import app\n"
        "try:\n    app(['build', sys.argv[1]])\nexcept SystemExit as e:\n    print(e.code, 'torch' in sys.modules)\n"
    )
    result = subprocess.run([sys.executable, "-c", probe, str(bad)], capture_output=True, text=True)
    assert result.stdout.split() == ["1", "False"], result.stdout + result.stderr
    assert "error[E103]" in result.stderr


@pytest.mark.parametrize("command, extra", [
    ("build", []), ("train", ["--data", "digits"]), ("export", ["--onnx", "x.onnx"]), ("bench", []),
])
def test_absurd_networks_are_refused_before_allocation(tmp_path, command, extra):
    huge_input = run_cli(command, "hybrid_s", "--set", "input=100000", *extra, cwd=tmp_path, timeout=120)
    assert huge_input.returncode == 1
    assert "error[E702]" in huge_input.stderr and "--max-activation-gb" in huge_input.stderr
    huge_dim = run_cli(command, "hybrid_s", "--set", "dim=1000000", *extra, cwd=tmp_path, timeout=120)
    assert huge_dim.returncode == 1
    assert "error[E701]" in huge_dim.stderr and "--max-params" in huge_dim.stderr
    assert "parameters (" in huge_dim.stderr  # the estimate of the size
    assert "Traceback" not in huge_input.stderr + huge_dim.stderr
    assert list(tmp_path.iterdir()) == []  # nothing written
