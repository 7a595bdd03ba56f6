"""Where the grammar and the bundled zoo live, installed or in a checkout.

A wheel carries them (and the bundled design spaces) as `spachc/_data/{grammar,specs,spaces}` (see pyproject.toml); an
editable install or a plain checkout reads the repository's top-level folders.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

_PACKAGE = Path(__file__).resolve().parent.parent


def _data_dir(name: str) -> Path:
    bundled = _PACKAGE / "_data" / name
    if bundled.is_dir():
        return bundled
    return _PACKAGE.parent / name


@cache
def grammar_text() -> str:
    return (_data_dir("grammar") / "spach.lark").read_text(encoding="utf-8")


def zoo_dir() -> Path:
    return _data_dir("specs")


def zoo_names() -> list[str]:
    return sorted(p.stem for p in zoo_dir().glob("*.spach"))


def spaces_dir() -> Path:
    """The bundled design spaces (`spachc sweep sample battle`), kept apart from the zoo:
    a space is not a network and the zoo lists networks."""
    return _data_dir("spaces")


def space_names() -> list[str]:
    return sorted(p.stem for p in spaces_dir().glob("*.spach"))
