"""Compiler diagnostics: where a problem is, what it is, and how to fix it.

Every error a user can cause is a `Diagnostic` with a stable code, a 1-based line
and column, and a rendered form in the style of rustc/ruff:

    specs/x.spach:3:7: error[E103]: unknown block kind 'tran'
      |
    3 | stage tran x3 dim 96
      |       ^^^^
      = hint: did you mean 'trans'?
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass, field
from typing import Iterable, Literal

Severity = Literal["error", "warning"]


@dataclass(frozen=True)
class Source:
    """A named piece of text that spans point into (a file, a string, a --set value)."""

    name: str
    text: str

    def line_text(self, line: int) -> str:
        lines = self.text.splitlines()
        return lines[line - 1] if 0 < line <= len(lines) else ""


@dataclass(frozen=True)
class Span:
    """A half-open region of a source, 1-based lines and columns."""

    source: Source
    line: int
    column: int
    end_line: int
    end_column: int
    start_pos: int = 0
    end_pos: int = 0

    @classmethod
    def at_offset(cls, source: Source, start: int, end: int | None = None) -> "Span":
        end = start if end is None else end
        line, col = _line_col(source.text, start)
        end_line, end_col = _line_col(source.text, end)
        return cls(source, line, col, end_line, end_col, start, end)

    def where(self) -> str:
        return f"{self.source.name}:{self.line}:{self.column}"


def _line_col(text: str, offset: int) -> tuple[int, int]:
    offset = max(0, min(offset, len(text)))
    line = text.count("\n", 0, offset) + 1
    col = offset - (text.rfind("\n", 0, offset) + 1) + 1
    return line, col


@dataclass(frozen=True)
class Note:
    message: str
    span: Span | None = None


@dataclass(frozen=True)
class Diagnostic:
    code: str
    message: str
    span: Span | None
    severity: Severity = "error"
    hint: str | None = None
    notes: tuple[Note, ...] = field(default_factory=tuple)

    @property
    def line(self) -> int:
        return self.span.line if self.span else 1

    @property
    def column(self) -> int:
        return self.span.column if self.span else 1

    @property
    def file(self) -> str:
        return self.span.source.name if self.span else "<unknown>"

    def render(self) -> str:
        head = f"{self.severity}[{self.code}]: {self.message}"
        if self.span is not None:  # problems of a whole network (limits) have no place in the text
            head = f"{self.file}:{self.line}:{self.column}: {head}"
        out = [head]
        if self.span is not None:
            out += _excerpt(self.span)
        for note in self.notes:
            where = f" (at {note.span.where()})" if note.span else ""
            out.append(f"  = note: {note.message}{where}")
        if self.hint:
            out.append(f"  = hint: {self.hint}")
        return "\n".join(out)

    def to_dict(self) -> dict:
        span = self.span
        return {
            "file": self.file,
            "line": self.line,
            "column": self.column,
            "end_line": span.end_line if span else self.line,
            "end_column": span.end_column if span else self.column,
            "severity": self.severity,
            "code": self.code,
            "message": self.message,
            "hint": self.hint,
            "notes": [
                {"message": n.message, "line": n.span.line if n.span else None,
                 "column": n.span.column if n.span else None}
                for n in self.notes
            ],
        }


def _excerpt(span: Span) -> list[str]:
    text = span.source.line_text(span.line)
    if not text and span.line > len(span.source.text.splitlines()):
        return []
    gutter = len(str(span.line))
    width = span.end_column - span.column if span.end_line == span.line else len(text) - span.column + 1
    caret = " " * (span.column - 1) + "^" * max(1, width)
    pad = " " * gutter
    return [f"{pad} |", f"{span.line} | {text}", f"{pad} | {caret}"]


class SpecError(ValueError):
    """A spec that cannot be used, with every diagnostic that says why."""

    def __init__(self, diagnostics: Iterable[Diagnostic]):
        self.diagnostics = tuple(diagnostics)
        super().__init__(self.render())

    @property
    def errors(self) -> tuple[Diagnostic, ...]:
        return tuple(d for d in self.diagnostics if d.severity == "error")

    def render(self) -> str:
        return "\n\n".join(d.render() for d in self.diagnostics)


def error_at(code: str, message: str, span: Span | None, hint: str | None = None, **kw) -> Diagnostic:
    return Diagnostic(code, message, span, "error", hint, **kw)


def warning_at(code: str, message: str, span: Span | None, hint: str | None = None) -> Diagnostic:
    return Diagnostic(code, message, span, "warning", hint)


def did_you_mean(word: str, candidates: Iterable[str]) -> str | None:
    """The closest candidate as a hint, or None when nothing is close."""
    match = difflib.get_close_matches(word, sorted(set(candidates)), n=1, cutoff=0.6)
    return f"did you mean '{match[0]}'?" if match else None
