"""`spachc graph SPEC [--format mermaid|dot|svg] [-o FILE]`: draw an architecture. Never imports torch."""

from __future__ import annotations

import sys
from enum import Enum
from pathlib import Path

import typer

from ..files.atomic import write_atomically
from ..lang.graph import render
from .common import SET_OPTION_HELP, UserError, err, reports_errors

SUFFIX_FORMATS = {".mmd": "mermaid", ".mermaid": "mermaid", ".md": "markdown", ".dot": "dot", ".gv": "dot", ".svg": "svg"}


def write_output(path: Path, text: str) -> None:
    """Write a generated text file, reporting an unwritable path as one message."""
    try:
        write_atomically(path, text.encode("utf-8"), parents=False)
    except OSError as exc:
        raise UserError(f"cannot write {path}: {exc.strerror}", code="E951") from None


class Format(str, Enum):
    mermaid = "mermaid"
    markdown = "markdown"
    dot = "dot"
    svg = "svg"


def graph_command(
    spec: str = typer.Argument(..., help="A .spach file, a zoo name or a model folder."),
    format: Format = typer.Option(None, "--format", "-f", show_default=False,
                                  help="mermaid, markdown (mermaid in a fenced block: GitHub renders it), dot, or svg "
                                       "(needs Graphviz's `dot`). Default: from the -o suffix (.mmd, .md, .dot/.gv, "
                                       ".svg), else mermaid."),
    output: Path = typer.Option(None, "-o", "--output", help="Write here instead of stdout."),
    set_: list[str] = typer.Option([], "--set", help=SET_OPTION_HELP),
) -> None:
    """Draw the architecture: stem, stages with their block groups, downsamples, dims, token grids,
    shared mixers."""
    chosen = format.value if format else SUFFIX_FORMATS.get(output.suffix.lower(), "mermaid") if output else "mermaid"
    from ..model_io.folder import spec_of

    text = render(spec_of(spec, set_), chosen)
    if output is None:
        sys.stdout.write(text)
        return
    write_output(output, text)
    err.print(f"wrote {chosen} of {spec} to {output}")


def register(app: typer.Typer) -> None:
    app.command("graph")(reports_errors(graph_command))
