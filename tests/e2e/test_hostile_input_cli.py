"""Inputs that are not specs at all, given to the commands: the code and no traceback, a bad spec
reported before torch is imported, absurd networks refused before allocation (the front end
alone is tests/unit/test_hostile_input.py)."""

from __future__ import annotations

import pytest
from support.cli import run_cli


def _cases(tmp_path):
    empty = tmp_path / "empty.spach"
    empty.write_text("")
    comments = tmp_path / "comments.spach"
    comments.write_text("# nothing but a comment\n\n")
    binary = tmp_path / "junk.spach"
    binary.write_bytes(bytes(range(256)) * 4)
    latin1 = tmp_path / "latin1.spach"
    latin1.write_bytes("model caf\u00e9\ninput 32\n".encode("latin-1"))
    huge = tmp_path / "huge.spach"
    huge.write_text("# padding\n" * 1_100_000)
    folder = tmp_path / "folder.spach"
    folder.mkdir()
    return {
        "empty": (empty, "E002", "the spec is empty"),
        "comments only": (comments, "E002", "the spec is empty"),
        "binary": (binary, "E005", "binary file"),
        "not utf-8": (latin1, "E001", "not valid UTF-8 (byte 0xe9)"),
        "10 MB": (huge, "E003", "spec is 11,000,000 bytes; the limit is 1,000,000"),
        "directory": (folder, "E004", "is a directory"),
    }


@pytest.mark.parametrize("command", ["check", "build", "fmt"])
def test_commands_answer_with_the_code_and_no_traceback(tmp_path, command):
    for path, code, _ in _cases(tmp_path).values():
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
