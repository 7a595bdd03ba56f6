"""One registry of diagnostic codes (spachc/diagnostics/codes.py), checked against the generated
table docs/codes.md and against the source: every code declared once as a constant named after
its value, used by name (never spelt as a string literal), documented, never reused."""

from __future__ import annotations

import ast
import re
from pathlib import Path

from support.paths import REPO

import spachc.diagnostics.codes as registry
from spachc.diagnostics.codes import CODES, RETIRED, duplicates
from spachc.diagnostics.table import markdown

CODE = re.compile(r"^[EW]\d{3,4}$")
REGISTRY = Path("spachc/diagnostics/codes.py")
# Documentation keyed by code, checked by tests/unit/test_explanations.py against the registry.
EXPLANATIONS = Path("spachc/diagnostics/explanations.py")


def modules() -> list[tuple[Path, ast.Module]]:
    """Every module of the package but the registry, parsed."""
    found = []
    for path in sorted((REPO / "spachc").rglob("*.py")):
        rel = path.relative_to(REPO)
        if rel != REGISTRY:
            found.append((rel, ast.parse(path.read_text(encoding="utf-8"))))
    return found


def docs_table(section: str) -> dict[str, list[str]]:
    """The rows of one table of docs/codes.md ('codes' or 'retired'), read as a user reads them."""
    text = (REPO / "docs" / "codes.md").read_text(encoding="utf-8")
    main, _, retired = text.partition("## Retired codes")
    rows = {}
    for line in (main if section == "codes" else retired).splitlines():
        cells = [c.strip() for c in re.split(r"(?<!\\)\|", line)[1:-1]]
        if cells and CODE.match(cells[0]):
            rows[cells[0]] = [c.replace("\\|", "|") for c in cells[1:]]
    return rows


def test_registry_has_no_duplicates_and_reuses_no_retired_code():
    assert duplicates() == []
    assert not set(CODES) & set(RETIRED)
    assert all(c.family and c.meaning for c in CODES.values())
    assert all(r.replaced_by is None or r.replaced_by in CODES for r in RETIRED.values())


def test_every_code_is_a_constant_named_after_its_value():
    constants = {name: value for name, value in vars(registry).items() if CODE.match(name)}
    assert sorted(constants) == sorted(CODES)
    assert {name: value for name, value in constants.items() if value != name} == {}
    assert all(type(value) is str for value in constants.values())  # rendering and JSON see plain text


def test_docs_codes_md_is_the_generated_table():
    text = (REPO / "docs" / "codes.md").read_text(encoding="utf-8")
    assert text == markdown(), "regenerate it: python -m spachc.diagnostics.table > docs/codes.md"


def test_docs_table_documents_exactly_the_registry():
    documented = docs_table("codes")
    assert sorted(set(CODES) - set(documented)) == [], "registered but not in docs/codes.md"
    assert sorted(set(documented) - set(CODES)) == [], "in docs/codes.md but not registered"
    assert {c: row for c, row in documented.items() if row != [CODES[c].family, CODES[c].meaning]} == {}
    retired = docs_table("retired")
    assert sorted(retired) == sorted(RETIRED)
    assert all(row[0] == RETIRED[c].meaning and row[2] == (RETIRED[c].replaced_by or "-")
               for c, row in retired.items())


def test_no_module_spells_a_code_as_a_string_literal():
    """`code="E1008"` would let a typo invent a code; the constant makes it an ImportError.
    Tests keep the literal text, as the user sees it."""
    spelt = [f"{rel}:{node.lineno}: {node.value!r}" for rel, tree in modules() if rel != EXPLANATIONS
             for node in ast.walk(tree)
             if isinstance(node, ast.Constant) and isinstance(node.value, str) and CODE.match(node.value)]
    assert spelt == []


def _imported_codes(rel: Path, tree: ast.Module) -> dict[str, int]:
    """Codes a module imports from the registry and how often it reads each."""
    imported = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[-1] == "codes":
            imported |= {a.asname or a.name for a in node.names if CODE.match(a.name)}
    reads = {name: 0 for name in imported}
    for node in ast.walk(tree):
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Load) and node.id in reads:
            reads[node.id] += 1
        elif isinstance(node, ast.Attribute) and CODE.match(node.attr):
            reads[node.attr] = reads.get(node.attr, 0) + 1  # codes.E404
    return reads


def test_every_code_in_the_source_is_registered_and_every_registered_code_is_used():
    used: dict[str, list[str]] = {}
    unread = []
    for rel, tree in modules():
        for name, count in _imported_codes(rel, tree).items():
            used.setdefault(name, []).append(str(rel))
            if count == 0:
                unread.append(f"{rel}: {name}")
    assert {c: where for c, where in used.items() if c not in CODES} == {}
    assert sorted(set(CODES) - set(used), key=lambda c: (c[0], int(c[1:]))) == []
    assert unread == [], "imported from the registry but never used"


def test_every_code_a_module_reads_it_imports_from_the_registry():
    """A constant whose import a merge dropped is a NameError only when that line runs."""
    missing = []
    for rel, tree in modules():
        imported = {a.asname or a.name for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)
                    and (node.module or "").split(".")[-1] == "codes" for a in node.names}
        missing += [f"{rel}:{node.lineno}: {node.id}" for node in ast.walk(tree)
                    if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Load) and CODE.match(node.id)
                    and node.id not in imported]
    assert missing == []


def test_no_catch_all_by_module_name():
    """Failures travel as coded diagnostics; nothing guesses from an exception's module."""
    offenders = [str(p.relative_to(REPO)) for p in (REPO / "spachc").rglob("*.py")
                 if "__module__" in p.read_text(encoding="utf-8")]
    assert offenders == []
