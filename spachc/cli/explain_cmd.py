"""`spachc explain [CODE]`: a diagnostic code's family and meaning, an example and the fix.

Torch-free like `check`: it reads the registry (spachc.diagnostics.codes) and the
explanations, both plain data, through spachc.diagnostics.lookup.
"""

from __future__ import annotations

import json
import textwrap

import typer

from ..diagnostics.lookup import catalogue, explain, runs
from .common import out, reports_errors


@reports_errors
def explain_command(
    code: str = typer.Argument(None, metavar="CODE", help="A code such as E404 (or a family, e.g. geometry)."),
    as_json: bool = typer.Option(False, "--json", help="Machine-readable output."),
) -> None:
    """Explain a diagnostic code: meaning, example, fix."""
    entry = catalogue() if code is None else explain(code)
    if as_json:
        out.print_json(json.dumps(entry))
        return
    typer.echo(RENDER[entry["kind"]](entry))


def _code_text(e: dict) -> str:
    lines = [f"{e['code']} ({e['family']}): {e['meaning']}"]
    if e["example"] is None:
        return "\n".join(lines + ["", "No example is recorded for this code yet."])
    if e["example_kind"] == "spec":
        lines += ["", f"Example: a spec that `spachc check` reports {e['code']} on:"]
        lines += ["    " + line for line in e["example"].rstrip("\n").splitlines()]
    else:
        lines += ["", "Example:", "    $ " + e["example"].rstrip("\n")]
    lines += ["", "Fix:"] + textwrap.wrap(e["fix"], width=88, initial_indent="    ", subsequent_indent="    ")
    return "\n".join(lines)


def _retired_text(e: dict) -> str:
    lines = [f"{e['code']} is retired and never reused. It meant: {e['meaning']}."]
    if e["now"] is None:
        lines.append(f"Retired because {e['why']}; nothing reports it now.")
    else:
        lines += [f"Retired because {e['why']}; the same problem is reported now as {e['replaced_by']}:", "",
                  _code_text(e["now"])]
    return "\n".join(lines)


def _family_text(e: dict) -> str:
    width = max(len(c["code"]) for c in e["codes"])
    return "\n".join([f"{e['family']}:"] + [f"  {c['code']:<{width}}  {c['meaning']}" for c in e["codes"]])


def _families_text(e: dict) -> str:
    width = max(len(f["family"]) for f in e["families"]) + 2
    lines = ["Diagnostic codes by family; `spachc explain CODE` explains one, `spachc explain FAMILY` lists one.", ""]
    lines += [f"  {f['family']:<{width}}{runs(f['codes'])}" for f in e["families"]]
    lines += [f"  {'retired':<{width}}{', '.join(e['retired'])}"]
    return "\n".join(lines)


RENDER = {"code": _code_text, "retired": _retired_text, "family": _family_text, "families": _families_text}


def register(app: typer.Typer) -> None:
    app.command("explain")(explain_command)
