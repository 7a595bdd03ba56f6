"""`spachc eval SPEC [--weights W] --data DATA`: top-1, top-5, loss and images/s on the
validation split. W is a spachc .safetensors, a model folder, a training state.pt, or an
official `.pth` of the paper's code (one dispatch: spachc.model_io); a weights file given as
SPEC is its own weights."""

from __future__ import annotations

import json
from pathlib import Path

import typer

from ..runtime.precision import INFERENCE
from ..runtime.stopping import stops_on_signals
from .common import SET_OPTION_HELP, device_option, err, out, precision_option, reports_errors


def eval_command(
    spec: str = typer.Argument(..., help="A .spach file, a zoo name, or a spachc .safetensors or model folder (its own spec)."),
    weights: Path = typer.Option(None, "--weights", help="spachc .safetensors, a model folder or the paper's .pth "
                                 "checkpoint; default: SPEC itself when it is a weights file or a model folder."),
    data: str = typer.Option("digits", "--data", help="Image-folder tree (val/<class>/*) or a built-in dataset."),
    batch_size: int = typer.Option(128, "--batch-size", min=1),
    device: str = device_option(),
    ema: bool = typer.Option(False, "--ema", help="Use the EMA weights (<W>.ema.safetensors, or 'model_ema' of a .pth)."),
    workers: int = typer.Option(2, "--workers", min=0),
    crop: float = typer.Option(None, "--eval-crop", help="Resize to input/crop then centre-crop; default: the "
                               "value saved in the weights, else 0.875."),
    set_: list[str] = typer.Option([], "--set", help=SET_OPTION_HELP),
    dtype: str = precision_option("eval", "fp32", INFERENCE),
    as_json: bool = typer.Option(False, "--json", help="Print the result as JSON."),
) -> None:
    """Evaluate weights on the validation split: top-1, top-5, loss, images/s."""
    from ..train.eval_run import evaluate

    report = evaluate(spec, weights=weights, data=data, batch_size=batch_size, device=device, ema=ema,
                      workers=workers, eval_crop=crop, overrides=set_, dtype=dtype)
    for note in report.notes:
        err.print(note, markup=False)
    if report.skipped:
        err.print(f"warning: skipped {len(report.skipped)} image(s) that cannot be read (left out of the figures): "
                  + "; ".join(report.skipped[:3]), markup=False)
    if as_json:
        out.print_json(json.dumps(report.to_dict()))
        return
    out.print(f"{report.spec} on {report.data} ({report.images} validation images, {report.device}, {report.precision})")
    out.print(f"top-1 {report.top1:.2f}%   top-5 {report.top5:.2f}%   loss {report.loss:.4f}   "
              f"{report.images_per_second:,.0f} images/s")


def register(app: typer.Typer) -> None:
    app.command("eval")(reports_errors(stops_on_signals("eval")(eval_command)))
