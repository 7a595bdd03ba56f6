"""Evaluating weights on a dataset's validation split: the work of `spachc eval`, and the
library's `spachc.evaluate(...)`, which returns an EvalReport (top-1, top-5, loss, images/s).

The weights are any model source with weights (a spachc .safetensors, a model folder, a
training state.pt, an official .pth of the paper's code: one dispatch, spachc.model_io);
the preprocessing is the one recorded with them, else the data's normalisation and crop 0.875.
Quiet: what the command prints on stderr (a missing preprocessing record, unreadable images
left out) is in the report's `notes` and `skipped`.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path
from ..diagnostics.codes import E1001, E1011


@dataclass(frozen=True)
class EvalReport:
    """One evaluation's figures; `to_dict()` is what `spachc eval --json` prints."""

    spec: str  # the spec's name
    spec_hash: str
    weights: str  # the weights file read
    data: str  # the dataset's name
    ema: bool
    top1: float  # %
    top5: float  # %
    loss: float
    images: int  # validation images evaluated
    images_per_second: float
    device: str
    precision: str
    skipped: tuple[str, ...] = ()  # images that could not be read, left out of the figures
    notes: tuple[str, ...] = ()

    def to_dict(self) -> dict:
        return {"spec": self.spec, "spec_hash": self.spec_hash, "weights": self.weights, "data": self.data,
                "ema": self.ema, "top1": self.top1, "top5": self.top5, "loss": self.loss, "images": self.images,
                "images_per_second": self.images_per_second, "device": self.device, "precision": self.precision,
                "skipped_images": len(self.skipped)}


def evaluate(spec: str | Path, *, weights: str | Path | None = None, data: str = "digits", batch_size: int = 128,
             device: str = "auto", ema: bool = False, workers: int = 2, eval_crop: float | None = None,
             overrides=(), dtype: str = "fp32") -> EvalReport:
    """Evaluate weights on the validation split of `data` (image folders with val/<class>/*, or a
    built-in dataset: digits, animals); returns an EvalReport. `spec` is a .spach file or zoo name
    (then `weights` is needed), or a weights file, model or run folder that carries its own spec.
    The arguments mirror `spachc eval`'s options (`eval_crop` is --eval-crop, `overrides` --set)."""
    from ..diagnostics import UserError
    from ..runtime.precision import INFERENCE, choose

    choose(dtype, INFERENCE, command="eval")  # the CLI's option checks the same, while parsing
    from ..datasets import DataError, check_fit, open_dataset, worker_error_message
    from ..model_io.arguments import is_weights_file, load_spec_or_weights
    from ..model_io.create import build_loaded
    from ..model_io.folder import model_file
    from ..model_io.sources import load_weights_for
    from ..nn.precision import for_inference
    from ..runtime.precision import resolve_device
    from .distributed import World
    from .evaluate import eval_transform_config, evaluate as run_evaluation, saved_eval_config, val_loader
    from .run_folder import saved_eval_crop

    spec = str(spec)
    resolved, _ = load_spec_or_weights(spec, list(overrides))
    if weights is None:
        if not is_weights_file(spec):
            raise UserError("--weights is needed when SPEC is a spec (not a weights file or model folder)",
                            code=E1011, hint=f"spachc eval {spec} --weights W.safetensors")
        weights = Path(spec)
    weights = model_file(Path(weights))
    state, _ = load_weights_for(resolved, weights, ema, own_spec_command="spachc eval {path} --data " + data)
    try:
        dataset = open_dataset(data)
        check_fit(resolved, dataset)
    except DataError as exc:
        raise UserError(str(exc), code=E1001) from None
    target = resolve_device(device, 0)
    notes = []
    config = saved_eval_config(weights, resolved) if weights.suffix == ".safetensors" else None
    if config is not None and config.note is not None:
        notes.append(f"note: no preprocessing recorded in {weights}: using the data's normalisation and crop 0.875; "
                     f"record it with `spachc save {weights} DIR --mean ... --std ...`")
    if config is None or config.note is not None or tuple(config.preprocessing.input_size) != tuple(resolved.input):
        config = eval_transform_config(resolved, dataset, saved_eval_crop(weights) or 0.875)
    if eval_crop is not None:
        config = replace(config, preprocessing=config.preprocessing.with_crop(eval_crop))
    model = build_loaded(resolved, state).to(target)
    model, precision = for_inference(model, dtype, target)
    loader = val_loader(dataset, config, batch_size, workers, World())
    try:
        result = run_evaluation(model, loader, target, World())
    except DataError as exc:
        raise UserError(worker_error_message(exc), code=E1001) from None
    return EvalReport(spec=resolved.name, spec_hash=resolved.hash, weights=str(weights), data=dataset.name, ema=ema,
                      top1=result.top1, top5=result.top5, loss=result.loss, images=result.images,
                      images_per_second=result.images_per_second, device=str(target), precision=precision,
                      skipped=tuple(result.skipped), notes=tuple(notes))
