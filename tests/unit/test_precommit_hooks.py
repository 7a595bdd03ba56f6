"""`.pre-commit-hooks.yaml` declares its hooks, each an entry point spachc has (running them as
pre-commit does is tests/e2e/test_precommit_hooks_cli.py)."""

from __future__ import annotations

import re
import shlex
import tomllib

from support.hooks import hooks, read_hooks  # noqa: F401  (hooks: a fixture)
from support.paths import REPO


def test_hooks_are_declared(hooks):
    assert set(hooks) == {"spachc-check", "spachc-fmt"}
    scripts = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["scripts"]
    for hook in hooks.values():
        assert {"id", "name", "entry", "language", "files"} <= set(hook)
        assert hook["language"] == "python"  # pre-commit pip-installs this repository
        program = shlex.split(hook["entry"])[0]
        assert program in scripts, f"{program} is not a console script of the package"
        pattern = re.compile(hook["files"])
        assert pattern.search("specs/hybrid_s.spach") and pattern.search("a b/model.spach")
        assert not pattern.search("README.md") and not pattern.search("x.spach.orig")
