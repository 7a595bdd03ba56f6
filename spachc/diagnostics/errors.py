"""The one error channel: exceptions that carry Diagnostics.

Every failure a user can cause is raised as a DiagnosticError; commands render its
diagnostics and exit with its status, and anything else that escapes is a bug.
"""

from __future__ import annotations

from typing import Iterable

from .model import Diagnostic, Note, Severity


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
