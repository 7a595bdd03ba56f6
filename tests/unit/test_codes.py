"""One registry of diagnostic codes (spachc/diagnostics/codes.py), checked against README's table
and against every code the source reports: no code undocumented, reused or unregistered."""

from __future__ import annotations

import re

from support.paths import REPO

from spachc.diagnostics.codes import CODES, RETIRED, duplicates

CODE = re.compile(r"\b([EW])(\d{3,4})\b")


def _expand(cell: str) -> set[str]:
    """'E301–E306, E311' -> {'E301', ..., 'E306', 'E311'}."""
    codes: set[str] = set()
    for part in cell.split(","):
        ends = [m.group(0) for m in CODE.finditer(part)]
        if len(ends) == 2:
            (letter, low), (_, high) = CODE.match(ends[0]).groups(), CODE.match(ends[1]).groups()
            width = len(low)
            codes |= {f"{letter}{n:0{width}d}" for n in range(int(low), int(high) + 1)}
        else:
            codes |= set(ends)
    return codes


def readme_codes(retired: bool = False) -> set[str]:
    """The codes README's table documents (`retired=True`: those its rows say are retired)."""
    text = (REPO / "README.md").read_text(encoding="utf-8")
    table = text[text.index("| codes | what |"):]
    rows = []
    for line in table.splitlines()[2:]:
        if not line.startswith("|"):
            break
        _, codes, what, _ = line.split("|", 3)
        if what.strip().startswith("retired") == retired:
            rows.append(codes)
    return set().union(*(_expand(cell) for cell in rows))


def source_codes() -> dict[str, list[str]]:
    """Every code literal the package reports ("E103", code="E1008"), with where it is."""
    found: dict[str, list[str]] = {}
    for path in sorted((REPO / "spachc").rglob("*.py")):
        if path.name == "codes.py":
            continue
        for match in re.finditer(r"[\"']([EW]\d{3,4})[\"']", path.read_text(encoding="utf-8")):
            found.setdefault(match[1], []).append(str(path.relative_to(REPO)))
    return found


def test_registry_has_no_duplicates_and_reuses_no_retired_code():
    assert duplicates() == []
    assert not set(CODES) & set(RETIRED)
    assert all(c.family and c.meaning for c in CODES.values())


def test_readme_table_documents_exactly_the_registry():
    documented = readme_codes()
    assert sorted(set(CODES) - documented) == [], "registered but not in README's table"
    assert sorted(documented - set(CODES)) == [], "in README's table but not registered"
    assert readme_codes(retired=True) == set(RETIRED)


def test_every_code_in_the_source_is_registered_and_every_registered_code_is_used():
    used = source_codes()
    assert {c: where for c, where in used.items() if c not in CODES} == {}
    assert sorted(set(CODES) - set(used)) == []


def test_no_catch_all_by_module_name():
    """Failures travel as coded diagnostics; nothing guesses from an exception's module."""
    offenders = [str(p.relative_to(REPO)) for p in (REPO / "spachc").rglob("*.py")
                 if "__module__" in p.read_text(encoding="utf-8")]
    assert offenders == []
