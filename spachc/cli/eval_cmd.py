"""`spachc eval SPEC [--weights W] --data DATA`: top-1, top-5, loss and images/s on the
validation split. W is a spachc .safetensors, a training state.pt, or an official `.pth` of
the paper's code; a spachc .safetensors given as SPEC is its own weights."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Optional

import typer

from .common import SET_OPTION_HELP, UserError, out, reports_errors


def eval_command(
    spec: str = typer.Argument(..., metavar="SPEC", help="A .spach file, a zoo name, or a spachc .safetensors "
                               "(its own spec, and its weights unless --weights is given)."),
    weights: Optional[Path] = typer.Option(None, "--weights", metavar="PATH", help="spachc .safetensors, a "
                                           "training state.pt, or the paper's .pth.", show_default=False),
    data: str = typer.Option("digits", "--data", metavar="DATA", help="Image folders (val/<class>/*) or a "
                             "built-in dataset."),
    batch_size: int = typer.Option(128, "--batch-size", min=1, metavar="N"),
    device: str = typer.Option("auto", "--device", metavar="auto|cpu|cuda"),
    ema: bool = typer.Option(False, "--ema", help="Use the EMA weights (W.ema.safetensors, or the EMA in a "
                             "state.pt or .pth)."),
    workers: int = typer.Option(2, "--workers", min=0, metavar="N"),
    crop: Optional[float] = typer.Option(None, "--eval-crop", metavar="X", help="Resize to input/X, centre-crop; "
                                         "default: as saved in the weights, else 0.875.", show_default=False),
    set_: list[str] = typer.Option([], "--set", metavar="K=V", help=SET_OPTION_HELP),
    as_json: bool = typer.Option(False, "--json", help="Print the result as JSON."),
) -> None:
    """Evaluate weights on the validation split: top-1, top-5, loss, images/s."""
    from ..nn.build import build
    from ..sources import load_weights_for
    from ..runtime import resolve_device
    from ..train.data import DataError, check_fit, open_dataset, worker_error_message
    from ..train.distributed import World
    from ..train.evaluate import eval_transform_config, evaluate, saved_eval_config, val_loader
    from ..train.run_folder import saved_eval_crop
    from .loading import is_weights_file, load_spec_or_weights

    resolved, _ = load_spec_or_weights(spec, set_)
    if weights is None:
        if not is_weights_file(spec):
            raise UserError("no weights to evaluate", code="E1011",
                            hint=f"pass --weights W, or evaluate a weights file alone: spachc eval W.safetensors "
                                 f"--data {data}")
        weights = Path(spec)
    state, _ = load_weights_for(resolved, weights, ema, own_spec_command="spachc eval {path} --data " + data)
    dataset = open_dataset(data)
    check_fit(resolved, dataset)
    target = resolve_device(device, 0)
    config = saved_eval_config(weights) if weights.suffix == ".safetensors" else None
    if config is None or list(config["size"]) != list(resolved.input):
        config = eval_transform_config(resolved, dataset, saved_eval_crop(weights) or 0.875)
    if crop is not None:
        config["crop_fraction"] = crop
    model = build(resolved).to(target)
    model.load_state_dict({k: v.to(target) for k, v in state.items()}, strict=True)
    loader = val_loader(dataset, config, batch_size, workers, World())
    try:
        result = evaluate(model, loader, target, World())
    except DataError as exc:
        raise DataError(worker_error_message(exc)) from None
    report = {"spec": resolved.name, "spec_hash": resolved.hash, "weights": str(weights), "data": dataset.name,
              "ema": ema, "top1": result.top1, "top5": result.top5, "loss": result.loss, "images": result.images,
              "images_per_second": result.images_per_second, "device": str(target)}
    if as_json:
        out.print_json(json.dumps(report))
        return
    out.print(f"{resolved.name} on {dataset.name} ({result.images} validation images, {target})")
    out.print(f"top-1 {result.top1:.2f}%   top-5 {result.top5:.2f}%   loss {result.loss:.4f}   "
              f"{result.images_per_second:,.0f} images/s")


def register(app: typer.Typer) -> None:
    app.command("eval")(reports_errors(eval_command))
