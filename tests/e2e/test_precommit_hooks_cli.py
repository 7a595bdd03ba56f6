"""`.pre-commit-hooks.yaml`: each hook id resolves to a working spachc command, run the way
pre-commit runs it (entry + the matching file names)."""

from __future__ import annotations

import shlex
import shutil
import subprocess
import sys
from pathlib import Path

from support.hooks import hooks, read_hooks  # noqa: F401  (hooks: a fixture)

GOOD = """\
model tiny
input 32
classes 10
stem patch 4
stage conv x1 dim 16
-> down -> stage trans x1 heads 2
"""
UNFORMATTED = "# keep me\nstage conv x1 dim 16   ->down-> stage trans x1 heads 2\nstem patch 4 classes 10 input 32 model tiny\n"
BAD = GOOD.replace("heads 2", "heads 3")  # 3 does not divide 32


def _run_hook(hook: dict[str, str], files: list[Path]) -> subprocess.CompletedProcess:
    """As pre-commit does: the entry's program from the hook's environment, then the file names."""
    program, *args = shlex.split(hook["entry"])
    executable = shutil.which(program, path=str(Path(sys.executable).parent))
    assert executable, f"{program} is not installed next to {sys.executable}"
    return subprocess.run([executable, *args, *map(str, files)], capture_output=True, text=True, timeout=120)


def test_check_hook_passes_good_and_fails_bad_specs(hooks, tmp_path):
    good, bad = tmp_path / "good.spach", tmp_path / "bad.spach"
    good.write_text(GOOD)
    bad.write_text(BAD)
    result = _run_hook(hooks["spachc-check"], [good])
    assert result.returncode == 0, result.stderr
    result = _run_hook(hooks["spachc-check"], [good, bad])
    assert result.returncode == 1
    assert f"{bad}:6:27: error[" in result.stderr and "heads" in result.stderr
    assert "Traceback" not in result.stderr


def test_fmt_hook_rewrites_then_passes(hooks, tmp_path):
    spec, bad = tmp_path / "messy.spach", tmp_path / "bad.spach"
    spec.write_text(UNFORMATTED)
    result = _run_hook(hooks["spachc-fmt"], [spec])
    assert result.returncode == 0, result.stderr  # pre-commit fails the run because the file changed
    assert spec.read_text() == ("model tiny\ninput 32\nclasses 10\nstem conv1 patch 4\n\n"
                                "# keep me\nstage conv x1 dim 16\n-> down -> stage trans x1 heads 2\n")
    result = _run_hook(hooks["spachc-fmt"], [spec])
    assert result.returncode == 0 and "0 file(s) reformatted, 1 unchanged" in result.stderr
    bad.write_text("stage conv x1 dimm 16\n")
    result = _run_hook(hooks["spachc-fmt"], [bad])
    assert result.returncode == 1 and "error[" in result.stderr and bad.read_text() == "stage conv x1 dimm 16\n"
