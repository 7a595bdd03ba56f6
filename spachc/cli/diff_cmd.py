"""`spachc diff A B [--json]`: compare two architectures, not two texts. Never imports torch.

Exit status as diff(1): 0 same architecture, 1 different, 2 trouble. Called with git's
seven external-diff arguments (`diff.spach.command`), it prints the architecture diff and
the text diff of one file and always exits 0 on a comparison, since git stops on a non-zero
status.
"""

from __future__ import annotations

import difflib
import os
import sys
from pathlib import Path

import typer
from rich.text import Text

from ..diagnostics import SpecError
from ..lang.diffing import Change, PartDiff, SpecDiff, diff_specs, load_side
from ..lang.frontend import load
from ..lang.printer import format_number
from ..lang.summary import summary
from .common import UserError, human, out, reports_errors

GIT_DRIVER_ARGS = 7  # path old-file old-hex old-mode new-file new-hex new-mode
DIFFERENT, TROUBLE = 1, 2


def _value(v) -> str:
    if isinstance(v, bool):
        return "on" if v else "off"
    if isinstance(v, float):
        return format_number(v)
    if isinstance(v, (list, tuple)):
        return "x".join(map(str, v))
    return "none" if v is None else str(v)


def _change_text(c: Change) -> str:
    return f"{c.field} {_value(c.before)} -> {_value(c.after)}"


def _signed(n: int, as_human: bool = False) -> str:
    if n == 0:
        return "0"
    text = human(abs(n)) if as_human else f"{abs(n):,}"
    return ("+" if n > 0 else "-") + text


def _blocks_text(p: PartDiff) -> str | None:
    if p.blocks_before is None and p.blocks_after is None:
        return None
    if p.blocks_before == p.blocks_after:
        return p.blocks_before
    text = f"{p.blocks_before or '(none)'} -> {p.blocks_after or '(none)'}"
    return text + (f" ({'; '.join(p.block_changes)})" if p.block_changes else "")


ROW = "{mark} {part:<8} {pb:>13} {pa:>11} {pd:>12}  {mb:>11} {ma:>8} {md:>9}"
MARKS = {"same": " ", "changed": "~", "added": "+", "removed": "-"}


def _row(mark: str, part: str, params: tuple[int, int, int], macs: tuple[int, int, int]) -> str:
    return ROW.format(mark=mark, part=part, pb=f"{params[0]:,}", pa=f"{params[1]:,}", pd=_signed(params[2]),
                      mb=human(macs[0]), ma=human(macs[1]), md=_signed(macs[2], as_human=True))


def diff_lines(d: SpecDiff) -> list[str]:
    """The diff as plain fixed-width text: one row per part, its blocks and changes under it."""
    lines = [f"architecture: {d.before} ({d.hash_before[:12]}) -> {d.after} ({d.hash_after[:12]})"]
    lines += [f"model: {_change_text(c)}" for c in d.model_changes]
    lines.append(ROW.format(mark=" ", part="", pb="params before", pa="after", pd="delta",
                            mb="MACs before", ma="after", md="delta"))
    for p in d.parts:
        lines.append(_row(MARKS[p.status], p.part, (p.params_before, p.params_after, p.params_delta),
                          (p.macs_before, p.macs_after, p.macs_delta)))
        blocks = _blocks_text(p)
        if blocks and p.status != "same":
            lines.append(f"      blocks   {blocks}")
        if p.changes:
            lines.append(f"      changes  {'; '.join(map(_change_text, p.changes))}")
    lines.append(_row(" ", "total", (d.params_before, d.params_after, d.params_delta),
                      (d.macs_before, d.macs_after, d.macs_delta)))
    return lines


def print_diff(d: SpecDiff) -> None:
    if d.same:
        renamed = f" (named {d.name_before} and {d.name_after})" if d.name_before != d.name_after else ""
        out.print(Text(f"same architecture{renamed}: {d.hash_after[:12]}, {d.params_after:,} params, "
                       f"{human(d.macs_after)} MACs"))
        return
    for line in diff_lines(d):
        out.print(Text(line))


def compare(a: str, b: str, as_json: bool) -> bool:
    """Print the diff of two sides; True when they are the same architecture."""
    d = diff_specs(load_side(a), load_side(b), a, b)
    if as_json:
        out.print_json(d.model_dump_json())
    else:
        print_diff(d)
    return d.same


def git_driver(path: str, old_file: str, new_file: str) -> None:
    """One file of `git diff` through `diff.spach.command`: architecture, then text."""
    out.print(f"diff --spachc a/{path} b/{path}")
    old_text, new_text = (_text_or_empty(f) for f in (old_file, new_file))
    if old_file == "/dev/null" or new_file == "/dev/null":
        side = "new" if old_file == "/dev/null" else "deleted"
        spec_file = new_file if side == "new" else old_file
        try:
            s = summary(load(spec_file))
            out.print(f"{side} spec {s.name}: {s.params:,} params, {human(s.macs)} MACs, hash {s.spec_hash[:12]}")
        except SpecError as exc:
            out.print(f"{side} spec, not valid: {exc.diagnostics[0].message}")
    else:
        try:
            d = diff_specs(load(old_file), load(new_file), f"a/{path}", f"b/{path}")
            print_diff(d)
        except SpecError as exc:
            out.print(Text(f"cannot compare architectures: {exc.diagnostics[0].render()}"))
    text_diff = difflib.unified_diff(old_text.splitlines(keepends=True), new_text.splitlines(keepends=True),
                                     f"a/{path}", f"b/{path}")
    sys.stdout.flush()
    sys.stdout.writelines(line if line.endswith("\n") else line + "\n" for line in text_diff)


def _text_or_empty(file: str) -> str:
    if file == "/dev/null":
        return ""
    return Path(file).read_text(encoding="utf-8", errors="replace")


def diff_command(
    sides: list[str] = typer.Argument(..., metavar="A B", show_default=False,
                                      help="Two specs: files, zoo names, or REV:path read from git "
                                           "(e.g. HEAD~1:specs/hybrid_s.spach)."),
    as_json: bool = typer.Option(False, "--json", help="Print the diff as JSON."),
) -> None:
    """Compare two architectures stage by stage: blocks, dims, token grids, options, params, MACs.

    Exit 0 when they are the same architecture (formatting, comments and names do not count), 1 when they differ, 2 when a side cannot be read. Also a git diff driver: see docs/version-control.md.
    """
    from_git = "GIT_DIFF_PATH_TOTAL" in os.environ  # git sets it for external diff drivers
    if from_git and len(sides) == 1:  # git's call for an unmerged path
        out.print(f"spachc diff: {sides[0]} is unmerged")
        return
    if from_git and len(sides) == GIT_DRIVER_ARGS:
        _exit_on_trouble(git_driver)(sides[0], sides[1], sides[4])
        return
    if len(sides) != 2:
        _exit_on_trouble(_wrong_count)(sides)
    if not _exit_on_trouble(compare)(sides[0], sides[1], as_json):
        raise typer.Exit(DIFFERENT)


def _wrong_count(sides: list[str]) -> None:
    raise UserError(f"spachc diff takes two specs (A B), got {len(sides)}: {' '.join(sides)}", code="E953")


def _exit_on_trouble(func):
    """`reports_errors`, with diff(1)'s exit status 2 for trouble so that 1 keeps meaning 'different'."""
    reporting = reports_errors(func)

    def run(*args):
        try:
            return reporting(*args)
        except typer.Exit as exc:
            raise typer.Exit(TROUBLE if exc.exit_code else 0) from None

    return run


def register(app: typer.Typer) -> None:
    app.command("diff")(diff_command)
