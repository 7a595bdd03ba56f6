"""The data of a diagnostic: where a problem is (Source, Span), what it is (Diagnostic, Note).

Plain frozen dataclasses and two constructors; nothing here formats text. Rendering lives in
`render.py` so that a new output format (JSON, SARIF, an editor's) never touches the model.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from .render import render_dict, render_text

Severity = Literal["error", "warning", "stopped"]  # stopped: a run that ended on a signal, saved


@dataclass(frozen=True)
class Source:
    """A named piece of text that spans point into (a file, a string, a --set value).
    A command-line argument (`argument=True`) is shown as typed in excerpts."""

    name: str
    text: str
    argument: bool = False

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
    path: str | None = None  # the file a problem is about when no text position fits (missing, a directory)

    @property
    def line(self) -> int:
        return self.span.line if self.span else 1

    @property
    def column(self) -> int:
        return self.span.column if self.span else 1

    @property
    def file(self) -> str:
        return self.span.source.name if self.span else (self.path or "<unknown>")

    def render(self) -> str:
        return render_text(self)

    def to_dict(self) -> dict:
        return render_dict(self)


def error_at(code: str, message: str, span: Span | None, hint: str | None = None, **kw) -> Diagnostic:
    return Diagnostic(code, message, span, "error", hint, **kw)


def warning_at(code: str, message: str, span: Span | None, hint: str | None = None) -> Diagnostic:
    return Diagnostic(code, message, span, "warning", hint)
