"""`spachc schema [--of ir|build] [-o FILE]`: the JSON Schema of spachc's JSON. Never imports torch."""

from __future__ import annotations

import json
import sys
from enum import Enum
from pathlib import Path

import typer

from ..lang.schema import schema
from .common import err, reports_errors
from .graph_cmd import write_output


class Of(str, Enum):
    ir = "ir"
    build = "build"


def schema_command(
    of: Of = typer.Option(Of.ir, "--of", help="ir: a Spec (the IR); build: the whole `spachc build --json` "
                                               "document, {spec, summary}."),
    output: Path = typer.Option(None, "-o", "--output", help="Write here instead of stdout."),
) -> None:
    """Print the JSON Schema (draft 2020-12) of the IR or of `spachc build --json`, generated from
    the Pydantic models."""
    text = json.dumps(schema(of.value), indent=2) + "\n"
    if output is None:
        sys.stdout.write(text)
        return
    write_output(output, text)
    err.print(f"wrote the {of.value} schema to {output}")


def register(app: typer.Typer) -> None:
    app.command("schema")(reports_errors(schema_command))
