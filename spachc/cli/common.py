"""What every command shares: reporting errors the user can act on, and specs from arguments."""

from __future__ import annotations

import functools
import sys
from typing import Callable

import typer
from rich.console import Console

from ..lang.diagnostics import Diagnostic, SpecError
from ..lang.options import set_help

out = Console(highlight=False, soft_wrap=True)
err = Console(stderr=True, highlight=False, soft_wrap=True)

SET_OPTION_HELP = set_help()  # the keys come from the options table


def max_params_option():
    from ..lang.limits import DEFAULT_MAX_PARAMS

    return typer.Option(DEFAULT_MAX_PARAMS, "--max-params",
                        help="Refuse networks with more parameters (checked before anything is allocated).")


def max_activation_option():
    from ..lang.limits import DEFAULT_MAX_ACTIVATION_GB

    return typer.Option(DEFAULT_MAX_ACTIVATION_GB, "--max-activation-gb",
                        help="Refuse networks whose largest activation for one image exceeds this many GiB.")


class UserError(Exception):
    """A failure the user can fix, reported as one message without a traceback."""

    def __init__(self, message: str, code: str = "E000", hint: str | None = None):
        super().__init__(message)
        self.code, self.hint = code, hint


def print_diagnostics(diagnostics: tuple[Diagnostic, ...] | list[Diagnostic]) -> None:
    for d in diagnostics:
        sys.stderr.write(d.render() + "\n\n")
    sys.stderr.flush()


def reports_errors(command: Callable) -> Callable:
    """Turn the failures a user can cause into messages and exit code 1."""

    @functools.wraps(command)
    def wrapper(*args, **kwargs):
        try:
            return command(*args, **kwargs)
        except SpecError as exc:
            print_diagnostics(exc.diagnostics)
            raise typer.Exit(1) from None
        except UserError as exc:
            sys.stderr.write(f"error[{exc.code}]: {exc}\n" + (f"  = hint: {exc.hint}\n" if exc.hint else ""))
            raise typer.Exit(1) from None
        except ValueError as exc:  # UpstreamMismatch and weight-file problems are ValueErrors with full text
            if type(exc).__module__.startswith("spachc"):
                code = getattr(exc, "code", None)  # error classes may carry their code
                sys.stderr.write(f"error[{code}]: {exc}\n" if code else f"error: {exc}\n")
                raise typer.Exit(1) from None
            raise

    return wrapper


def human(n: int | float) -> str:
    """1234567 -> 1.23M; for tables, where exact figures are in --json."""
    for unit, size in (("G", 1e9), ("M", 1e6), ("K", 1e3)):
        if abs(n) >= size:
            return f"{n / size:.2f}{unit}"
    return str(n)
