"""`spachc zoo`: the bundled specs with their sizes."""

from __future__ import annotations

import json

import typer
from rich.table import Table

from ..lang.frontend import load
from ..lang.resources import zoo_names
from ..lang.summary import summary
from .common import out


def zoo_command(as_json: bool = typer.Option(False, "--json", help="Machine-readable output.")) -> None:
    """List the bundled SPACH zoo with parameters and MACs at 224x224."""
    rows = []
    for name in zoo_names():
        s = summary(load(name))
        rows.append({"name": name, "params": s.params, "macs": s.macs, "stages": len(s.stages),
                     "spec_hash": s.spec_hash})
    if as_json:
        out.print_json(json.dumps(rows))
        return
    table = Table(title="spachc zoo (224x224, 1000 classes)", title_justify="left")
    for col in ("name", "stages", "params", "GMACs", "hash"):
        table.add_column(col, justify="left" if col in ("name", "hash") else "right")
    for r in rows:
        table.add_row(r["name"], str(r["stages"]), f"{r['params']:,}", f"{r['macs'] / 1e9:.3f}", r["spec_hash"][:12])
    out.print(table)


def register(app: typer.Typer) -> None:
    app.command("zoo")(zoo_command)
