"""What every command shares: reporting errors the user can act on, and specs from arguments."""

from __future__ import annotations

import functools
import sys
from typing import Callable

import typer
from rich.console import Console

from ..diagnostics import Diagnostic, DiagnosticError, SpecError, UserError, render_text  # noqa: F401
from ..lang.options import set_help
from ..train.start import DEFAULT_WORKERS  # noqa: F401 - `train` and `sweep run` share this default

out = Console(highlight=False, soft_wrap=True)
err = Console(stderr=True, highlight=False, soft_wrap=True)

SET_OPTION_HELP = set_help()  # the keys come from the options table


def max_params_option():
    from ..lang.limits import DEFAULT_MAX_PARAMS

    return typer.Option(DEFAULT_MAX_PARAMS, "--max-params", metavar="N", rich_help_panel="Limits",
                        help="Refuse more parameters than this.")


def max_activation_option():
    from ..lang.limits import DEFAULT_MAX_ACTIVATION_GB

    return typer.Option(DEFAULT_MAX_ACTIVATION_GB, "--max-activation-gb", metavar="GiB", rich_help_panel="Limits",
                        help="Refuse a larger activation per image.")


def print_diagnostics(diagnostics: tuple[Diagnostic, ...] | list[Diagnostic]) -> None:
    for d in diagnostics:
        sys.stderr.write(render_text(d) + "\n\n")
    sys.stderr.flush()


def reports_errors(command: Callable) -> Callable:
    """The one error channel's emitter for the terminal: every failure a user can cause
    arrives as a DiagnosticError; it is printed and the command exits with its status.
    Anything else is a bug and keeps its traceback."""

    @functools.wraps(command)
    def wrapper(*args, **kwargs):
        try:
            return command(*args, **kwargs)
        except DiagnosticError as exc:
            print_diagnostics(exc.diagnostics)
            raise typer.Exit(exc.exit_code) from None

    return wrapper


def human(n: int | float) -> str:
    """1234567 -> 1.23M; for tables, where exact figures are in --json."""
    for unit, size in (("G", 1e9), ("M", 1e6), ("K", 1e3)):
        if abs(n) >= size:
            return f"{n / size:.2f}{unit}"
    return str(n)
