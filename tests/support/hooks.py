"""`.pre-commit-hooks.yaml` read without PyYAML, for the unit tests of its declarations and the
e2e tests that run the hooks (import `hooks` for the fixture)."""

from __future__ import annotations

import re

import pytest

from .paths import REPO


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
