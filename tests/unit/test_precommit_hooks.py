"""`.pre-commit-hooks.yaml` declares its hooks, each an entry point spachc has (running them as
pre-commit does is tests/e2e/test_precommit_hooks_cli.py)."""

from __future__ import annotations

import re
import shlex
import tomllib

import pytest
from support.paths import REPO


def read_hooks(text: str) -> list[dict[str, str]]:
    """The flat subset of YAML the hooks file uses: a list of `key: scalar` mappings.
    (PyYAML is not a dependency; anything richer in the file fails here, loudly.)"""
    hooks: list[dict[str, str]] = []
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        match = re.fullmatch(r"(- |  )([a-z_]+): (.+)", line)
        assert match, f".pre-commit-hooks.yaml:{number}: not a flat `key: value` line: {line!r}"
        item, key, value = match.groups()
        if item == "- ":
            hooks.append({})
        if value[0] == value[-1] and value[0] in "'\"":
            value = value[1:-1]
        hooks[-1][key] = value
    return hooks


@pytest.fixture(scope="module")
def hooks() -> dict[str, dict[str, str]]:
    return {h["id"]: h for h in read_hooks((REPO / ".pre-commit-hooks.yaml").read_text())}


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
