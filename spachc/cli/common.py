"""What every command shares: reporting errors the user can act on, specs from arguments, and the
options several commands take (--dtype, --device, --threads, --amp), each declared once here so
that its spelling, help text and errors are the same in every command."""

from __future__ import annotations

import functools
import sys
from typing import Callable

import typer
from rich.console import Console

from ..diagnostics import Diagnostic, DiagnosticError, SpecError, UserError, render_text  # noqa: F401
from ..lang.options import set_help
from ..train.start import DEFAULT_WORKERS  # noqa: F401 - `train` and `sweep run` share this default
from ..runtime import precision

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


def precision_option(command: str, default: str, allowed: tuple[str, ...]):
    """`--dtype`: a precision of spachc/runtime/precision.py that `command` can take (`allowed`, in
    the module's order); an unknown name or one outside `allowed` is E1016, said while parsing."""
    return typer.Option(default, "--dtype", metavar="|".join(allowed), help="Precision: " + precision.describe(allowed),
                        callback=_checked(lambda value: precision.choose(value, allowed, command=command)))


def autocast_option(command: str, default: str, allowed: tuple[str, ...]):
    """`--amp`: an autocast mode (precision.AUTOCAST_MODES) that `command` can take; errors as --dtype's."""
    return typer.Option(default, "--amp", metavar="|".join(allowed), help="Autocast: " + precision.describe(allowed),
                        callback=_checked(lambda value: precision.choose(value, allowed, command=command,
                                                                         option="--amp")))


def device_option(panel: str | None = None):
    """`--device auto|cpu|cuda` (E1008 for another name, while parsing; an absent CUDA is found
    where the command resolves the device: precision.resolve_device)."""
    return typer.Option("auto", "--device", metavar="|".join(precision.DEVICES),
                        help="auto (default): CUDA when present; under torchrun, the rank's GPU.",
                        show_default=False, callback=_checked(precision.check_device), rich_help_panel=panel)


def threads_option():
    """`--threads N` or SPACHC_THREADS: N torch threads, set when the option is read
    (spachc/runtime/threads.py), the same at the root (`spachc --threads N CMD`) and in a command."""
    from ..runtime.threads import THREADS_ENV, set_threads

    return typer.Option(None, "--threads", metavar="N", envvar=THREADS_ENV, show_default=False,
                        help="CPU threads for torch (default: the CPUs this process may use; OMP_NUM_THREADS is "
                             "honoured). OpenMP threads sleep at barriers (OMP_WAIT_POLICY=PASSIVE) unless "
                             "OMP_WAIT_POLICY is set.",
                        callback=_checked(lambda value: None if value is None else set_threads(value)))


def _checked(check: Callable) -> Callable:
    """An option callback: the value once `check` accepts it; a refusal is printed like every
    command's errors (reports_errors), while the command line is still being parsed."""

    def callback(value):
        try:
            check(value)
        except DiagnosticError as exc:
            print_diagnostics(exc.diagnostics)
            raise typer.Exit(exc.exit_code) from None
        return value

    return callback


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
