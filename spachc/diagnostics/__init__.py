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


# --- emitters: the data above rendered as text or JSON (ruff keeps messages as data) ---

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


class DiagnosticError(ValueError):
    """The one error channel: every failure a user can cause is raised as one of these,
    carrying `Diagnostic`s (data); commands render them, tracebacks are bugs."""

    diagnostics: tuple[Diagnostic, ...] = ()
    exit_code: int = 1


class SpecError(DiagnosticError):
    """A spec that cannot be used, with every diagnostic that says why."""

    def __init__(self, diagnostics: Iterable[Diagnostic]):
        self.diagnostics = tuple(diagnostics)
        super().__init__(self.render())

    @property
    def errors(self) -> tuple[Diagnostic, ...]:
        return tuple(d for d in self.diagnostics if d.severity == "error")

    def render(self) -> str:
        return "\n\n".join(d.render() for d in self.diagnostics)


class UserError(DiagnosticError):
    """One coded problem with no place in a spec text (a file, a flag, a run folder).
    Subclasses name their usual code; `code=` picks another from the registry."""

    code: str = ""
    severity: Severity = "error"

    def __init__(self, message: str, code: str | None = None, hint: str | None = None,
                 notes: Iterable[Note] = ()):
        super().__init__(message)
        self.code = code or type(self).code
        if not self.code:
            raise TypeError(f"{type(self).__name__} raised without a diagnostic code: {message}")
        self.hint = hint
        self.diagnostics = (Diagnostic(self.code, message, None, self.severity, hint, tuple(notes)),)


def error_at(code: str, message: str, span: Span | None, hint: str | None = None, **kw) -> Diagnostic:
    return Diagnostic(code, message, span, "error", hint, **kw)


def warning_at(code: str, message: str, span: Span | None, hint: str | None = None) -> Diagnostic:
    return Diagnostic(code, message, span, "warning", hint)


def did_you_mean(word: str, candidates: Iterable[str]) -> str | None:
    """The closest candidate as a hint, or None when nothing is close."""
    match = difflib.get_close_matches(word, sorted(set(candidates)), n=1, cutoff=0.6)
    return f"did you mean '{match[0]}'?" if match else None
