"""`spachc fmt SPEC... [--check]`: rewrite specs in canonical form. Never imports torch."""

from __future__ import annotations

import sys
from pathlib import Path

import typer

from ..files.atomic import write_atomically
from ..diagnostics import SpecError
from ..lang.frontend import fmt_text, read_source
from .common import print_diagnostics


def _write_atomically(path: Path, text: str) -> None:
    write_atomically(path, text.encode("utf-8"), mode=path.stat().st_mode & 0o777)


def fmt_command(
    specs: list[Path] = typer.Argument(..., help="Spec files to format in place.", show_default=False),
    check: bool = typer.Option(False, "--check", help="Change nothing; exit 1 and name the files that would change."),
) -> None:
    """Rewrite specs in canonical form, keeping every comment."""
    would_change, failed = [], 0
    for path in specs:
        try:
            source = read_source(path)
            formatted = fmt_text(source.text, source.name)
        except SpecError as exc:
            print_diagnostics(exc.diagnostics)
            failed += 1
            continue
        if formatted == source.text:
            continue
        would_change.append(path)
        if not check:
            _write_atomically(Path(source.name), formatted)
    verb = "would reformat" if check else "reformatted"
    for path in would_change:
        sys.stderr.write(f"{verb} {path}\n")
    unchanged = len(specs) - len(would_change) - failed
    sys.stderr.write(f"{len(would_change)} file(s) {verb}, {unchanged} unchanged" + (f", {failed} failed" if failed else "") + "\n")
    if failed or (check and would_change):
        raise typer.Exit(1)


def register(app: typer.Typer) -> None:
    app.command("fmt")(fmt_command)
