"""`spachc save SRC DIR [--weights W]`: a model folder (config.json + model.safetensors) that
carries everything needed to use the model: spec, weights, preprocessing, class names."""

from __future__ import annotations

from pathlib import Path

import typer

from .common import SET_OPTION_HELP, UserError, err, max_activation_option, max_params_option, out, reports_errors

ALLOWED = {"config.json", "model.safetensors"}


def save_command(
    source: str = typer.Argument(..., help="A spachc .safetensors (e.g. runs/x/best.safetensors), a training run "
                                 "folder (its best weights), a model folder, or a spec with --weights."),
    folder: Path = typer.Argument(..., help="The model folder to write (created if missing)."),
    weights: Path = typer.Option(None, "--weights", help="Weights for a spec SRC: a spachc .safetensors or an "
                                 "official .pth of the paper's code."),
    set_: list[str] = typer.Option([], "--set", help=SET_OPTION_HELP),
    seed: int = typer.Option(0, "--seed", help="Seed of the initial weights when none are given."),
    max_params: int = max_params_option(),
    max_activation_gb: float = max_activation_option(),
) -> None:
    """Write a model folder: config.json (spec, hash, preprocessing and labels under timm's
    pretrained_cfg names) and model.safetensors."""
    from ..folder import save_folder
    from ..export.source import model_to_export

    if folder.exists() and not folder.is_dir():
        raise UserError(f"{folder} exists and is not a directory", code="E1213")
    if folder.is_dir():
        stray = sorted(p.name for p in folder.iterdir() if p.name not in ALLOWED)
        if stray:
            raise UserError(f"{folder} holds other files ({', '.join(stray[:4])}); a model folder holds only "
                            "config.json and model.safetensors", code="E1213", hint="choose a new or empty folder")
    chosen = model_to_export(source, weights, set_, seed, max_params, max_activation_gb)
    spec, model, described, info = chosen.spec, chosen.model, chosen.weights, chosen.info
    if info.note:
        err.print(f"note: {info.note}", markup=False)
    save_folder(model, spec, folder, info, described)
    labels = f"{len(info.labels)} labels" if info.labels else "no labels"
    out.print(f"saved {spec.name} (spec {spec.hash[:12]}, weights: {described}) to {folder}/", markup=False)
    out.print(f"  preprocessing: {info.preprocessing.describe()}; {labels}", markup=False)


def register(app: typer.Typer) -> None:
    app.command("save")(reports_errors(save_command))
