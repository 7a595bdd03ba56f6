"""`spachc build SPEC`: parse, validate, compile, and summarise."""

from __future__ import annotations

import json
from pathlib import Path

import typer
from rich.table import Table

from ..lang.limits import enforce
from ..lang.summary import Summary, summary
from .common import SET_OPTION_HELP, human, max_activation_option, max_params_option, out, reports_errors
from ..model_io.arguments import load_spec_text_or_weights


def render_summary(s: Summary) -> Table:
    table = Table(title=f"{s.name}  (spec {s.spec_hash[:12]})", title_justify="left")
    for col, justify in (("", "left"), ("blocks", "left"), ("dim", "right"), ("tokens", "right"),
                         ("heads", "right"), ("params", "right"), ("MACs", "right")):
        table.add_column(col, justify=justify)
    table.add_row("stem", "", "", "", "", f"{s.stem_params:,}", human(s.stem_macs))
    for row in s.stages:
        blocks = row.blocks + (" (shared)" if row.shared else "")
        table.add_row(f"stage {row.index}", blocks, str(row.dim), f"{row.grid[0]}x{row.grid[1]}",
                      str(row.heads or "-"), f"{row.params:,}", human(row.macs))
    table.add_row("head", "", "", "", "", f"{s.head_params:,}", human(s.head_macs))
    table.add_section()
    table.add_row("total", "", "", "", "", f"{s.params:,}", human(s.macs))
    return table


def build_command(
    spec: str = typer.Argument(None, help="A .spach file, a zoo name, a spachc .safetensors file or a model folder.",
                               show_default=False),
    expr: str = typer.Option(None, "-e", "--expr", help="The spec itself as text, like python -c: "
                             "-e 'stage conv x2 dim 96 -> down -> stage trans x6'."),
    set_: list[str] = typer.Option([], "--set", help=SET_OPTION_HELP),
    as_json: bool = typer.Option(False, "--json", help="Print the IR and the counts as JSON."),
    output: Path = typer.Option(None, "-o", "--output", help="Write the initialised weights to this .safetensors."),
    max_params: int = max_params_option(),
    max_activation_gb: float = max_activation_option(),
    seed: int = typer.Option(0, "--seed", help="Seed for the initial weights written by -o."),
) -> None:
    """Compile a spec and print per-stage blocks, dims, token grids, params and MACs."""
    # A bad spec is reported before torch is imported (seconds on a cold start).
    resolved, state = load_spec_text_or_weights(spec, expr, set_)
    enforce(resolved, max_params, max_activation_gb)
    import torch

    from ..model_io.create import build_loaded
    from ..model_io.tensors import save_weights

    torch.manual_seed(seed)
    model = build_loaded(resolved, state, max_params=max_params)
    model.eval()
    s = summary(resolved)
    built_params = sum(p.numel() for p in model.parameters())
    assert built_params == s.params, f"compiler and counter disagree: {built_params} != {s.params}"
    with torch.no_grad():
        logits = model(torch.zeros(s.input_shape))
    if output is not None:
        save_weights(model, resolved, output)
    if as_json:
        data = {"spec": json.loads(resolved.to_json()), "summary": json.loads(s.model_dump_json())}
        out.print_json(json.dumps(data))
        return
    out.print(render_summary(s))
    out.print(f"input  {tuple(s.input_shape)} -> output {tuple(logits.shape)}")
    out.print(f"params {s.params:,}   MACs {s.macs:,} ({s.macs / 1e9:.3f} G)")
    out.print(f"spec hash {s.spec_hash}")
    if state is not None:
        out.print(f"weights loaded from {spec}")
    if output is not None:
        out.print(f"wrote initial weights to {output}")


def register(app: typer.Typer) -> None:
    app.command("build")(reports_errors(build_command))
