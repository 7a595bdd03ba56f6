"""A normal (non-editable) install carries the grammar and the zoo inside the package."""

from __future__ import annotations

import subprocess
import sys
import zipfile

from support.paths import REPO


def test_wheel_carries_grammar_and_zoo_and_works_outside_the_checkout(tmp_path):
    build = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w", str(tmp_path), str(REPO)],
        capture_output=True, text=True, timeout=300,
    )
    assert build.returncode == 0, build.stderr
    wheel = next(tmp_path.glob("spachc-*.whl"))
    names = zipfile.ZipFile(wheel).namelist()
    assert "spachc/_data/grammar/spach.lark" in names
    assert sum(n.startswith("spachc/_data/specs/") and n.endswith(".spach") for n in names) == 21
    assert "spachc/_data/spaces/battle.spach" in names  # `spachc sweep sample battle` from any install
    assert "spachc/data/animals.npz" in names and "spachc/data/README.md" in names  # data with its licence
    site = tmp_path / "site"
    zipfile.ZipFile(wheel).extractall(site)
    probe = (
        "import spachc, pathlib\n"
        "assert str(pathlib.Path(spachc.__file__).resolve()).startswith(%r), spachc.__file__\n"
        "print(spachc.summary(spachc.load('hybrid_s')).params)\n" % str(site.resolve())
    )
    run = subprocess.run([sys.executable, "-c", probe], cwd=tmp_path, capture_output=True, text=True,
                         env={"PYTHONPATH": str(site), "PATH": "/usr/bin:/bin"})
    assert run.returncode == 0, run.stderr
    assert run.stdout.strip() == "63028584"
