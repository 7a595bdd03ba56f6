"""`spachc import-upstream SPEC CKPT.pth -o OUT.safetensors`."""

from __future__ import annotations

from pathlib import Path

import typer

from ..lang.frontend import load
from .common import out, reports_errors


def import_upstream_command(
    spec: str = typer.Argument(..., help="The spec the checkpoint was trained with (file or zoo name)."),
    checkpoint: Path = typer.Argument(..., help="Official checkpoint: a .pth holding {'model': state_dict}."),
    output: Path = typer.Option(..., "-o", "--output", help="Where to write the spachc .safetensors."),
) -> None:
    """Convert an official checkpoint of the paper's code into a spachc weights file."""
    from ..model_io.create import build_loaded
    from ..nn.upstream import from_upstream, load_official_checkpoint
    from ..model_io.tensors import save_weights

    resolved = load(spec)
    state = from_upstream(resolved, load_official_checkpoint(checkpoint))
    model = build_loaded(resolved, state)
    save_weights(model, resolved, output)
    out.print(f"converted {len(state)} tensors of {checkpoint} -> {output} (spec {resolved.hash[:12]})")


def register(app: typer.Typer) -> None:
    app.command("import-upstream")(reports_errors(import_upstream_command))
