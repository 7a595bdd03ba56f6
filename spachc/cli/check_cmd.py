"""`spachc check SPEC...`: validate only. Never imports torch."""

from __future__ import annotations

import json
import sys
from enum import Enum
from pathlib import Path

import typer

from ..lang.frontend import check_text_with_census, check_with_census
from .common import UserError, print_diagnostics, reports_errors
from ..diagnostics.codes import E008


class Format(str, Enum):
    text = "text"
    json = "json"


def check_command(
    specs: list[Path] = typer.Argument(None, help="Spec files or zoo names.", show_default=False),
    format: Format = typer.Option(Format.text, "--format", help="text for people, json for editors."),
    exprs: list[str] = typer.Option([], "-e", "--expr", help="A spec as text (repeatable), like python -c."),
) -> None:
    """Validate specs; every diagnostic goes to stderr (or stdout as JSON). Exit 1 on any error."""
    specs = specs or []
    if not specs and not exprs:
        raise UserError("give at least one SPEC or -e TEXT", code=E008,
                        hint="e.g. spachc check hybrid_s, or spachc check -e 'stage conv x2 dim 96'")
    all_diagnostics, spaces = [], []
    for name, (diagnostics, census) in ([(str(s), check_with_census(str(s))) for s in specs]
                                        + [("-e", check_text_with_census(t)) for t in exprs]):
        all_diagnostics += diagnostics
        if census is not None:
            spaces.append(f"{name}: {census_text(census)}")
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
        sys.stderr.write(f"{verdict}: {len(specs) + len(exprs)} spec(s) checked, {errors} error(s), {warnings} warning(s)\n")
    if errors:
        raise typer.Exit(1)


def census_text(c) -> str:
    """One line on what a design space holds, exact or estimated."""
    if c.exact:
        where = f", {c.distinct_meeting:,} of them meet `where`" if c.bounded else " (no `where`)"
        return (f"a design space of {c.combinations:,} combinations: {c.valid:,} valid, {c.distinct:,} distinct "
                f"architecture(s) (by spec hash){where}")
    share = lambda k: f"{k / c.draws:.1%}"  # noqa: E731
    where = (f", {share(c.meeting)} valid and meeting `where`, {c.distinct_meeting:,} distinct architectures "
             f"meeting it among those drawn" if c.bounded else f", {c.distinct:,} distinct among those drawn")
    return (f"a design space of {c.combinations:,} combinations (too many to enumerate; estimated from {c.draws:,} "
            f"random ones): {share(c.valid)} valid{where}")


def register(app: typer.Typer) -> None:
    app.command("check")(reports_errors(check_command))
