"""`spachc predict MODEL IMAGE... [--top-k 5] [--json] [--onnx]`: classify image files with the
model's own recorded preprocessing (spachc.datasets.preprocess.prepare, the function `eval` uses), in
PyTorch or, with --onnx, in onnxruntime, so both paths see the same input arrays."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

import numpy as np
import typer

from .common import UserError, err, out, reports_errors

CHUNK = 64


def softmax(logits: np.ndarray) -> np.ndarray:
    shifted = logits - logits.max(axis=1, keepdims=True)
    e = np.exp(shifted)
    return e / e.sum(axis=1, keepdims=True)


def onnx_model_spec(path: Path):
    """The spec an ONNX file exported by spachc carries."""
    import onnx

    from ..model_io import metadata as meta
    from ..lang.frontend import parse

    proto = onnx.load(str(path), load_external_data=False)
    props = {p.key: p.value for p in proto.metadata_props}
    text = props.get(meta.SPEC)
    if meta.FEATURES in props:
        raise UserError(f"{path}: a backbone graph (exported with --features) has no logits to classify with",
                        code="E1222", hint="export the model without --features")
    if text is None:
        raise UserError(f"{path}: carries no spachc spec; predict needs an ONNX file exported by spachc",
                        code="E1222")
    return parse(text, source=f"{path}[{meta.SPEC}]")


def torch_logits(model, batch: np.ndarray) -> np.ndarray:
    import torch

    with torch.no_grad():
        return model(torch.from_numpy(batch)).double().numpy()


def onnx_logits(session, batch: np.ndarray) -> np.ndarray:
    """Logits from the graph, in its input dtype; a graph of fixed batch size N runs N at a
    time, the last group padded with zeros."""
    entry = session.get_inputs()[0]
    dtype = np.float16 if entry.type == "tensor(float16)" else np.float32
    fixed = entry.shape[0] if isinstance(entry.shape[0], int) else None
    if fixed is None:
        return session.run(["logits"], {"images": batch.astype(dtype)})[0].astype(np.float64)
    parts = []
    for start in range(0, len(batch), fixed):
        group = batch[start:start + fixed]
        padded = np.concatenate([group, np.zeros((fixed - len(group), *group.shape[1:]), group.dtype)])
        parts.append(session.run(["logits"], {"images": padded.astype(dtype)})[0][:len(group)])
    return np.concatenate(parts).astype(np.float64)


def check_model_argument(path: Path) -> None:
    """predict needs trained weights with their preprocessing: a model folder, a training run
    folder, a spachc .safetensors or an .onnx exported by spachc. Say what else was given."""
    from ..model_io import kinds

    kind = kinds.kind_of(str(path))  # the one dispatch; predict adds .onnx, which it runs itself
    if kind in (kinds.MODEL_FOLDER, kinds.RUN_FOLDER) or (path.is_file() and (kind == kinds.WEIGHTS_FILE
                                                                             or path.suffix == ".onnx")):
        return
    if kind == kinds.CHECKPOINT and path.suffix == ".pt" and path.is_file():
        raise UserError(f"{path}: a training state, not a model to predict with", code="E1222",
                        hint=f"pass its run folder, which stands for its best weights: spachc predict {path.parent} IMAGE")
    from ..lang.resources import zoo_names

    if (path.suffix == ".spach" and path.is_file()) or (not path.exists() and str(path) in zoo_names()):
        raise UserError(f"{path}: a spec, not a trained model: predict needs weights", code="E1222",
                        hint=f"train it first (spachc train {path} --data DATA --out runs/x), then spachc predict "
                             "runs/x IMAGE")
    raise UserError(f"{path}: " + ("no such model folder or file" if not path.exists() else
                                   "not a model folder, training run folder, .safetensors or .onnx file"),
                    code="E1222")


def predict_command(
    model_arg: str = typer.Argument(..., metavar="MODEL", help="A model folder, a training run folder, a spachc "
                                    ".safetensors, or (runs through onnxruntime) an .onnx file exported by spachc."),
    images: list[Path] = typer.Argument(..., help="Image files (PNG, JPEG, ...) or folders of them (the image "
                                        "files directly inside, in name order)."),
    top_k: int = typer.Option(5, "--top-k", help="How many classes to print per image."),
    as_json: bool = typer.Option(False, "--json", help="Print the predictions as JSON."),
    use_onnx: bool = typer.Option(False, "--onnx", help="Run in onnxruntime (a folder or .safetensors is exported "
                                  "to a temporary ONNX file first)."),
) -> None:
    """Classify image files: top-k labels and probabilities, with the model's own preprocessing.
    A file that cannot be read is reported with its code; the others are still classified, and
    the exit status is then 1."""
    from ..model_io.folder import model_info
    from ..datasets.preprocess import display_name

    if top_k < 1:
        raise UserError(f"--top-k {top_k}: must be at least 1", code="E1222")
    path = Path(model_arg)
    check_model_argument(path)
    onnx_file = path.suffix == ".onnx"
    with tempfile.TemporaryDirectory(prefix="spachc-predict-") as tmp:
        if onnx_file:
            spec = onnx_model_spec(path)
            info = model_info(path, spec)
            run, backend = _onnx_runner(path), "onnxruntime"
        else:
            from ..model_io.create import from_pretrained

            model = from_pretrained(path)
            spec, info = model.spec, model.model_info
            if use_onnx:
                run, backend = _onnx_runner(_export(model, spec, info, Path(tmp) / "model.onnx")), "onnxruntime"
            else:
                run, backend = (lambda batch: torch_logits(model, batch)), "torch"
        if info.note:
            err.print(f"note: {info.note}", markup=False)
        files = image_files(images)
        good, probs, failures = classify(files, info.preprocessing, run)
    k = min(top_k, spec.classes)
    results = []
    for image, p in zip(good, probs):
        order = np.argsort(-p, kind="stable")[:k]
        results.append({"image": display_name(image), "top": [{"index": int(i), "label": info.label(int(i)),
                                                               "probability": float(p[i])} for i in order]})
    if as_json:
        out.print_json(json.dumps({"model": display_name(path), "spec": spec.name, "spec_hash": spec.hash,
                                   "backend": backend, "preprocessing": info.preprocessing.to_cfg(),
                                   "preprocessing_recorded": info.recorded, "predictions": results,
                                   "errors": failures}, allow_nan=False))
    else:
        for result in results:
            out.print(result["image"], markup=False)
            for rank, top in enumerate(result["top"], 1):
                out.print(f"  {rank}. {top['label']:<20} {100 * top['probability']:6.2f}%", markup=False)
    if failures:
        for failure in failures:
            err.print(f"error[{failure['code']}]: {failure['message']}", markup=False)
        err.print(f"{len(failures)} of {len(files)} image(s) could not be classified", markup=False)
        raise typer.Exit(1)


def image_files(arguments: list[Path]) -> list[Path]:
    """The files named, with each folder replaced by the image files directly inside it."""
    from ..datasets.preprocess import IMAGE_SUFFIXES

    files: list[Path] = []
    for argument in arguments:
        if argument.is_dir():
            inside = sorted(p for p in argument.iterdir() if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES)
            if not inside:
                raise UserError(f"{argument}: a folder with no image files ({', '.join(sorted(IMAGE_SUFFIXES))})",
                                code="E1222")
            files += inside
        else:
            files.append(argument)
    return files


def classify(files: list[Path], pre, run) -> tuple[list[Path], np.ndarray, list[dict]]:
    """Probabilities of the files that can be read, CHUNK at a time (memory stays bounded for a
    folder of any size), and a coded record of each that cannot."""
    from ..datasets.preprocess import ImageReadError, PreprocessingError, display_name, prepare, read_image

    good: list[Path] = []
    parts: list[np.ndarray] = []
    failures: list[dict] = []
    for start in range(0, len(files), CHUNK):
        arrays = []
        for file in files[start:start + CHUNK]:
            try:
                arrays.append(prepare(read_image(file), pre))
            except ImageReadError as exc:
                failures.append({"image": display_name(file), "code": exc.code,
                                 "message": display_name(str(exc))})
                continue
            good.append(file)
        if arrays:
            parts.append(softmax(run(np.stack(arrays))))
    probs = np.concatenate(parts) if parts else np.zeros((0, 1))
    if not np.isfinite(probs).all():
        raise PreprocessingError("the model gives non-finite outputs (NaN or Inf) for these images",
                                 hint="check the weights: `spachc inspect MODEL`")
    return good, probs, failures


def _onnx_runner(path: Path):
    from ..export.verify import onnx_session

    session = onnx_session(path)
    return lambda batch: onnx_logits(session, batch)


def _export(model, spec, info, target: Path) -> Path:
    from ..export.onnx_export import OnnxOptions, export_onnx

    return export_onnx(model, spec, target, OnnxOptions(), weights="predict --onnx", info=info)


def register(app: typer.Typer) -> None:
    app.command("predict")(reports_errors(predict_command))
