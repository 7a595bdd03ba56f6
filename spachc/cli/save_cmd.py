"""`spachc save SRC DIR [--weights W] [--labels FILE] [--mean ...] [--std ...]`: a model folder
(config.json + model.safetensors) that carries everything needed to use the model: spec,
weights, preprocessing, class names. --labels/--mean/--std record what SRC lacks (or replace
what it records)."""

from __future__ import annotations

from pathlib import Path

import typer

from .common import SET_OPTION_HELP, UserError, err, max_activation_option, max_params_option, out, reports_errors
from ..diagnostics.codes import E831, E1213

ALLOWED = {"config.json", "model.safetensors"}


def save_command(
    source: str = typer.Argument(..., help="A spachc .safetensors (e.g. runs/x/best.safetensors), a training run "
                                 "folder (its best weights), a model folder, or a spec with --weights."),
    folder: Path = typer.Argument(..., help="The model folder to write (created if missing)."),
    weights: Path = typer.Option(None, "--weights", help="Weights for a spec SRC: a spachc .safetensors or an "
                                 "official .pth of the paper's code."),
    set_: list[str] = typer.Option([], "--set", help=SET_OPTION_HELP),
    seed: int = typer.Option(0, "--seed", help="Seed of the initial weights when none are given."),
    labels: Path = typer.Option(None, "--labels", help="Class names to record: a text file, one name per line "
                                "(as many as the spec's classes), or a JSON list."),
    mean: str = typer.Option(None, "--mean", help="Normalisation mean to record, one value per channel: 0.5 or "
                             "0.485,0.456,0.406."),
    std: str = typer.Option(None, "--std", help="Normalisation std to record, one positive value per channel."),
    max_params: int = max_params_option(),
    max_activation_gb: float = max_activation_option(),
) -> None:
    """Write a model folder: config.json (spec, hash, preprocessing and labels under timm's
    pretrained_cfg names) and model.safetensors."""
    from ..model_io.create import write_folder as save_folder
    from ..model_io.export_source import model_to_export

    if folder.exists() and not folder.is_dir():
        raise UserError(f"{folder} exists and is not a directory", code=E1213)
    if folder.is_dir():
        stray = sorted(p.name for p in folder.iterdir() if p.name not in ALLOWED)
        if stray:
            raise UserError(f"{folder} holds other files ({', '.join(stray[:4])}); a model folder holds only "
                            "config.json and model.safetensors", code=E1213, hint="choose a new or empty folder")
    chosen = model_to_export(source, weights, set_, seed, max_params, max_activation_gb)
    spec, model, described, info = chosen.spec, chosen.model, chosen.weights, chosen.info
    info = recorded_info(info, spec, labels, mean, std)
    if info.note:
        err.print(f"note: {info.note}", markup=False)
    save_folder(model, spec, folder, info, described)
    labels = f"{len(info.labels)} labels" if info.labels else "no labels"
    out.print(f"saved {spec.name} (spec {spec.hash[:12]}, weights: {described}) to {folder}/", markup=False)
    out.print(f"  preprocessing: {info.preprocessing.describe()}; {labels}", markup=False)


def recorded_info(info, spec, labels: Path | None, mean: str | None, std: str | None):
    """SRC's preprocessing and labels with --labels/--mean/--std applied, checked against the
    spec (E826-E828, E831). Giving both --mean and --std records the preprocessing: no note."""
    from dataclasses import replace

    from ..model_io.metadata import MetadataError, checked_labels

    pre, names, note = info.preprocessing, info.labels, info.note
    try:
        if mean is not None or std is not None:
            values = {}
            for flag, text, old in (("--mean", mean, pre.mean), ("--std", std, pre.std)):
                values[flag] = _numbers(flag, text, spec.channels) if text is not None else old
            pre = replace(pre, mean=values["--mean"], std=values["--std"])
            if mean is not None and std is not None:
                note = None
        if labels is not None:
            names = checked_labels(_read_labels(labels), f"--labels {labels}")
        return replace(info, preprocessing=pre, labels=names, note=note).check_against(
            spec.input, spec.channels, spec.classes, str(labels) if labels is not None else "save")
    except MetadataError as exc:
        raise UserError(exc.diagnostics[0].message, code=exc.code, hint=exc.hint) from None


def _numbers(flag: str, text: str, channels: int) -> tuple[float, ...]:
    import math

    try:
        values = tuple(float(v) for v in text.split(","))
    except ValueError:
        values = ()
    if not values or not all(math.isfinite(v) for v in values) or len(values) not in (1, channels):
        raise UserError(f"{flag} {text!r}: give {channels} finite numbers separated by commas (or one for all)",
                        code=E831, hint=f"e.g. {flag} " + ",".join(["0.5"] * channels))
    return values * channels if len(values) == 1 else values


def _read_labels(path: Path) -> list:
    import json

    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise UserError(f"--labels {path}: cannot read it ({exc})", code=E831) from None
    if text.lstrip().startswith("["):
        try:
            return json.loads(text)
        except (json.JSONDecodeError, RecursionError) as exc:
            raise UserError(f"--labels {path}: not a JSON list ({exc})", code=E831) from None
    return [line.strip() for line in text.splitlines() if line.strip()]


def register(app: typer.Typer) -> None:
    app.command("save")(reports_errors(save_command))
