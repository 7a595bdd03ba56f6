"""Emitters: a Diagnostic rendered as text (rustc/ruff style) or as a JSON-ready dict.

Messages are data (model.py); this is the only place that decides how they look. It reads
a diagnostic's fields and imports the model for type checking only, so the model can offer
`Diagnostic.render()` without an import cycle.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .model import Diagnostic, Span


def render_text(d: Diagnostic) -> str:
    head = f"{d.severity}[{d.code}]: {d.message}"
    if d.span is not None:  # problems of a whole network or a file have no place in a text
        head = f"{d.span.where()}: {head}"
    elif d.path is not None:
        head = f"{d.path}: {head}"
    out = [head]
    if d.span is not None:
        out += _excerpt(d.span)
    for note in d.notes:
        where = f" (at {note.span.where()})" if note.span else ""
        out.append(f"  = note: {note.message}{where}")
    if d.hint:
        out.append(f"  = hint: {d.hint}")
    return "\n".join(out)


def render_dict(d: Diagnostic) -> dict:
    span = d.span
    return {
        "file": d.file,
        "line": d.line,
        "column": d.column,
        "end_line": span.end_line if span else d.line,
        "end_column": span.end_column if span else d.column,
        "severity": d.severity,
        "code": d.code,
        "message": d.message,
        "hint": d.hint,
        "notes": [
            {"message": n.message, "line": n.span.line if n.span else None,
             "column": n.span.column if n.span else None}
            for n in d.notes
        ],
    }


def _excerpt(span: Span) -> list[str]:
    if span.source.argument:  # `--set heads=0`: the argument as typed, caret under its value
        shown = span.source.name
        start = len(shown) - len(span.source.text) + span.column - 1
        width = max(1, span.end_column - span.column) if span.end_line == span.line else 1
        return ["  |", f"  | {shown}", "  | " + " " * start + "^" * width]
    text = span.source.line_text(span.line)
    if not text and span.line > len(span.source.text.splitlines()):
        return []
    gutter = len(str(span.line))
    width = span.end_column - span.column if span.end_line == span.line else len(text) - span.column + 1
    caret = " " * (span.column - 1) + "^" * max(1, width)
    pad = " " * gutter
    return [f"{pad} |", f"{span.line} | {text}", f"{pad} | {caret}"]
