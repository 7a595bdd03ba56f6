"""The Typer application. Commands are registered here, one module each."""

from __future__ import annotations

import typer

from .._version import __version__
from . import (bench_cmd, build_cmd, check_cmd, diff_cmd, eval_cmd, explain_cmd, export_cmd, fmt_cmd, graph_cmd,
               inspect_cmd, predict_cmd, save_cmd, schema_cmd, sweep_cmd, train_cmd, upstream_cmd, zoo_cmd)
from .common import threads_option

app = typer.Typer(
    name="spachc",
    help="Compile .spach specs into SPACH vision backbones; train, evaluate, benchmark and export them.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"spachc {__version__}")
        raise typer.Exit()


@app.callback()
def _root(version: bool = typer.Option(False, "--version", callback=_version, is_eager=True,
                                       help="Print the version and exit."),
          threads: int = threads_option()) -> None:  # set as it is read (cli/common.py)
    """spachc: text in, a validated IR, a PyTorch model out."""


# One module per command, in the order `spachc --help` lists them. Each module has a
# `register(app)`; commands that need torch import it inside the command, not here.
COMMANDS = (check_cmd, fmt_cmd, build_cmd, zoo_cmd, upstream_cmd, export_cmd, inspect_cmd, train_cmd, eval_cmd,
            save_cmd, predict_cmd, diff_cmd, graph_cmd, schema_cmd, bench_cmd, sweep_cmd, explain_cmd)

for _module in COMMANDS:
    _module.register(app)


def command():
    """The click command behind `app`, with spachc's help conventions (spachc.cli.help)."""
    from .help import tidy

    return tidy(typer.main.get_command(app))


def main() -> None:
    command()(prog_name="spachc")
