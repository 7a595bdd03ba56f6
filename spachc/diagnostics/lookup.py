"""What `spachc explain` reports, as data: one code (registered or retired), one family, or
the families. The command renders these; the --json output is exactly these dicts.

Torch-free and cheap: the registry and the explanations are plain data.
"""

from __future__ import annotations

from .codes import CODES, E1400, RETIRED, families
from .errors import UserError
from .explanations import EXPLANATIONS
from .suggest import did_you_mean


def explain(word: str) -> dict:
    """A code's entry (`"kind": "code"` or `"retired"`), or a family's (`"kind": "family"`).
    Anything else is E1400, with the closest code or family as a hint."""
    code = word.strip().upper()
    if code in CODES:
        return _code_entry(code)
    if code in RETIRED:
        r = RETIRED[code]
        now = _code_entry(r.replaced_by) if r.replaced_by else None
        return {"kind": "retired", "code": r.code, "meaning": r.meaning, "why": r.why,
                "replaced_by": r.replaced_by, "now": now}
    named = {name.lower(): name for name in families()}
    if word.strip().lower() in named:
        family = named[word.strip().lower()]
        return {"kind": "family", "family": family,
                "codes": [{"code": c, "meaning": CODES[c].meaning} for c in families()[family]]}
    hint = (did_you_mean(code, [*CODES, *RETIRED]) or did_you_mean(word.strip().lower(), named)
            or "`spachc explain` lists the families and their codes; docs/codes.md has the whole table")
    raise UserError(f"unknown diagnostic code '{word}'", code=E1400, hint=hint)


def _code_entry(code: str) -> dict:
    c = CODES[code]
    entry = {"kind": "code", "code": c.code, "family": c.family,
             "severity": "warning" if c.code.startswith("W") else "error", "meaning": c.meaning,
             "example": None, "example_kind": None, "fix": None}
    found = EXPLANATIONS.get(code)
    if found is not None:
        entry.update(example=found.example, example_kind=found.kind, fix=found.fix)
    return entry


def catalogue() -> dict:
    """The families with their codes, and the retired codes."""
    return {"kind": "families",
            "families": [{"family": name, "codes": codes} for name, codes in families().items()],
            "retired": list(RETIRED)}


def runs(codes: list[str]) -> str:
    """['E001', 'E002', 'E003', 'E005'] -> 'E001–E003, E005': consecutive codes as ranges."""
    parts: list[list[str]] = []
    for code in codes:
        last = parts[-1][-1] if parts else None
        if (last is not None and last[0] == code[0] and len(last) == len(code)
                and int(code[1:]) == int(last[1:]) + 1):
            parts[-1].append(code)
        else:
            parts.append([code])
    return ", ".join(p[0] if len(p) == 1 else f"{p[0]}–{p[-1]}" for p in parts)
