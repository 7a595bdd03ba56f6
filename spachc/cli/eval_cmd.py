"""`spachc eval SPEC [--weights W] --data DATA`: top-1, top-5, loss and images/s on the
validation split. W is a spachc .safetensors, a model folder, a training state.pt, or an
official `.pth` of the paper's code (one dispatch: spachc.model_io); a weights file given as
SPEC is its own weights."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import typer

from ..runtime.precision import PRECISION_HELP, PRECISIONS
from ..runtime.stopping import stops_on_signals
from .common import SET_OPTION_HELP, UserError, err, out, reports_errors
from ..model_io.arguments import is_weights_file


def eval_command(
    spec: str = typer.Argument(..., help="A .spach file, a zoo name, or a spachc .safetensors or model folder (its own spec)."),
    weights: Path = typer.Option(None, "--weights", help="spachc .safetensors, a model folder or the paper's .pth "
                                 "checkpoint; default: SPEC itself when it is a weights file or a model folder."),
    data: str = typer.Option("digits", "--data", help="Image-folder tree (val/<class>/*) or a built-in dataset."),
    batch_size: int = typer.Option(128, "--batch-size", min=1),
    device: str = typer.Option("auto", "--device", help="auto, cpu or cuda."),
    ema: bool = typer.Option(False, "--ema", help="Use the EMA weights (<W>.ema.safetensors, or 'model_ema' of a .pth)."),
    workers: int = typer.Option(2, "--workers", min=0),
    crop: float = typer.Option(None, "--eval-crop", help="Resize to input/crop then centre-crop; default: the "
                               "value saved in the weights, else 0.875."),
    set_: list[str] = typer.Option([], "--set", help=SET_OPTION_HELP),
    dtype: str = typer.Option("fp32", "--dtype", help="Precision to evaluate in: " + PRECISION_HELP),
    as_json: bool = typer.Option(False, "--json", help="Print the result as JSON."),
) -> None:
    """Evaluate weights on the validation split: top-1, top-5, loss, images/s."""
    if dtype not in PRECISIONS:
        raise UserError(f"--dtype '{dtype}' is not one of: {', '.join(PRECISIONS)}", code="E1016")
    from ..model_io.create import build_loaded
    from ..datasets import DataError, check_fit, open_dataset, worker_error_message
    from ..train.distributed import World
    from ..train.evaluate import eval_transform_config, evaluate, saved_eval_config, val_loader
    from ..model_io.folder import model_file
    from ..runtime.device import resolve_device
    from ..model_io.sources import load_weights_for
    from ..train.run_folder import saved_eval_crop
    from ..model_io.arguments import load_spec_or_weights

    resolved, _ = load_spec_or_weights(spec, set_)
    if weights is None:
        if not is_weights_file(spec):
            raise UserError("--weights is needed when SPEC is a spec (not a weights file or model folder)",
                            code="E1011", hint=f"spachc eval {spec} --weights W.safetensors")
        weights = Path(spec)
    weights = model_file(weights)
    state, _ = load_weights_for(resolved, weights, ema, own_spec_command="spachc eval {path} --data " + data)
    try:
        dataset = open_dataset(data)
        check_fit(resolved, dataset)
    except DataError as exc:
        raise UserError(str(exc), code="E1001") from None
    target = resolve_device(device, 0)
    config = saved_eval_config(weights, resolved) if weights.suffix == ".safetensors" else None
    if config is not None and config.note is not None:
        err.print(f"note: no preprocessing recorded in {weights}: using the data's normalisation and crop 0.875; "
                  f"record it with `spachc save {weights} DIR --mean ... --std ...`", markup=False)
    if config is None or config.note is not None or tuple(config.preprocessing.input_size) != tuple(resolved.input):
        config = eval_transform_config(resolved, dataset, saved_eval_crop(weights) or 0.875)
    if crop is not None:
        config = replace(config, preprocessing=config.preprocessing.with_crop(crop))
    model = build_loaded(resolved, state).to(target)
    from ..nn.precision import for_inference

    model, precision = for_inference(model, dtype, target)
    loader = val_loader(dataset, config, batch_size, workers, World())
    try:
        result = evaluate(model, loader, target, World())
    except DataError as exc:
        raise UserError(worker_error_message(exc), code="E1001") from None
    report = {"spec": resolved.name, "spec_hash": resolved.hash, "weights": str(weights), "data": dataset.name,
              "ema": ema, "top1": result.top1, "top5": result.top5, "loss": result.loss, "images": result.images,
              "images_per_second": result.images_per_second, "device": str(target), "precision": precision,
              "skipped_images": len(result.skipped)}
    if result.skipped:
        err.print(f"warning: skipped {len(result.skipped)} image(s) that cannot be read (left out of the figures): "
                  + "; ".join(result.skipped[:3]), markup=False)
    if as_json:
        out.print_json(json.dumps(report))
        return
    out.print(f"{resolved.name} on {dataset.name} ({result.images} validation images, {target}, {precision})")
    out.print(f"top-1 {result.top1:.2f}%   top-5 {result.top5:.2f}%   loss {result.loss:.4f}   "
              f"{result.images_per_second:,.0f} images/s")


def register(app: typer.Typer) -> None:
    app.command("eval")(reports_errors(stops_on_signals("eval")(eval_command)))
