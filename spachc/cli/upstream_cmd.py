"""`spachc import-upstream SPEC CKPT.pth -o OUT.safetensors`."""

from __future__ import annotations

import pickle
from pathlib import Path

import typer

from ..lang.frontend import load
from .common import UserError, out, reports_errors


def load_official_checkpoint(path: Path) -> dict:
    """An official `.pth` ({"model": state_dict}), read with weights_only=True: never unpickle code."""
    import torch

    if not path.is_file():
        raise UserError(f"{path}: no such file", code="E801")
    with path.open("rb") as f:
        magic = f.read(4)
    if not (magic.startswith(b"PK\x03\x04") or magic[:1] == b"\x80"):  # torch's zip format, or a legacy pickle
        raise UserError(f"{path}: not a PyTorch checkpoint (neither a torch zip archive nor a pickle)", code="E803")
    try:
        data = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as exc:
        raise UserError(f"{path}: refused to load: it needs more than plain tensors ({exc})".split("\n")[0],
                        code="E802", hint="only weights_only checkpoints are accepted") from None
    except (RuntimeError, EOFError, OSError) as exc:
        raise UserError(f"{path}: not a readable PyTorch checkpoint ({exc})".split("\n")[0], code="E803") from None
    if not isinstance(data, dict):
        raise UserError(f"{path}: holds a {type(data).__name__}, not a state_dict", code="E804")
    return data


def import_upstream_command(
    spec: str = typer.Argument(..., help="The spec the checkpoint was trained with (file or zoo name)."),
    checkpoint: Path = typer.Argument(..., help="Official checkpoint: a .pth holding {'model': state_dict}."),
    output: Path = typer.Option(..., "-o", "--output", help="Where to write the spachc .safetensors."),
) -> None:
    """Convert an official checkpoint of the paper's code into a spachc weights file."""
    from ..nn.build import build
    from ..nn.upstream import from_upstream
    from ..nn.weights import save_weights

    resolved = load(spec)
    state = from_upstream(resolved, load_official_checkpoint(checkpoint))
    model = build(resolved)
    model.load_state_dict(state, strict=True)
    save_weights(model, resolved, output)
    out.print(f"converted {len(state)} tensors of {checkpoint} -> {output} (spec {resolved.hash[:12]})")


def register(app: typer.Typer) -> None:
    app.command("import-upstream")(reports_errors(import_upstream_command))
