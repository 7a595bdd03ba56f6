"""`spachc check SPEC...`: validate only. Never imports torch."""

from __future__ import annotations

import json
import sys
from enum import Enum
from pathlib import Path

import typer

from ..lang.frontend import check_with_census
from .common import print_diagnostics


class Format(str, Enum):
    text = "text"
    json = "json"


def check_command(
    specs: list[Path] = typer.Argument(..., help="Spec files or zoo names.", show_default=False),
    format: Format = typer.Option(Format.text, "--format", help="text for people, json for editors."),
) -> None:
    """Validate specs; every diagnostic goes to stderr (or stdout as JSON). Exit 1 on any error."""
    all_diagnostics, spaces = [], []
    for spec in specs:
        diagnostics, census = check_with_census(str(spec))
        all_diagnostics += diagnostics
        if census is not None:
            spaces.append(f"{spec}: {census_text(census)}")
    errors = sum(d.severity == "error" for d in all_diagnostics)
    warnings = len(all_diagnostics) - errors
    if format is Format.json:
        json.dump([d.to_dict() for d in all_diagnostics], sys.stdout, indent=2)
        sys.stdout.write("\n")
    else:
        print_diagnostics(all_diagnostics)
        for line in spaces:
            sys.stdout.write(line + "\n")
        verdict = "ok" if not errors else "failed"
        sys.stderr.write(f"{verdict}: {len(specs)} spec(s) checked, {errors} error(s), {warnings} warning(s)\n")
    if errors:
        raise typer.Exit(1)


def census_text(c) -> str:
    """One line on what a design space holds, exact or estimated."""
    if c.exact:
        return (f"a design space of {c.combinations:,} combinations: {c.valid:,} valid, {c.distinct:,} distinct "
                f"architectures (by spec hash), {c.distinct_meeting:,} of them meet `where`")
    share = lambda k: f"{k / c.draws:.1%}"  # noqa: E731
    return (f"a design space of {c.combinations:,} combinations (too many to enumerate; estimated from {c.draws:,} "
            f"random ones): {share(c.valid)} valid, {share(c.meeting)} valid and meeting `where`, "
            f"{c.distinct_meeting:,} distinct architectures meeting it among those drawn")


def register(app: typer.Typer) -> None:
    app.command("check")(check_command)
