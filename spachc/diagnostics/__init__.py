"""Compiler diagnostics: where a problem is, what it is, and how to fix it.

Every error a user can cause is a `Diagnostic` with a stable code, a 1-based line
and column, and a rendered form in the style of rustc/ruff:

    specs/x.spach:3:7: error[E103]: unknown block kind 'tran'
      |
    3 | stage tran x3 dim 96
      |       ^^^^
      = hint: did you mean 'trans'?

One module per job: `codes` (the registry: every code, declared once as a constant),
`model` (Source, Span, Note, Diagnostic), `render` (text and JSON), `errors` (the
exceptions that carry diagnostics), `suggest` (did-you-mean), `table` (docs/codes.md),
`explanations` (an example and a fix per code) and `lookup` (what `spachc explain`
reports). This package re-exports what callers import, so
`from ..diagnostics import UserError` works.
"""

from __future__ import annotations

from .errors import DiagnosticError, SpecError, UserError
from .model import Diagnostic, Note, Severity, Source, Span, error_at, warning_at
from .render import render_dict, render_text
from .suggest import did_you_mean

__all__ = [
    "Diagnostic", "DiagnosticError", "Note", "Severity", "Source", "Span", "SpecError", "UserError",
    "did_you_mean", "error_at", "render_dict", "render_text", "warning_at",
]
