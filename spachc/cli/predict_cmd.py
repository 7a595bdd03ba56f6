"""`spachc predict MODEL IMAGE... [--top-k 5] [--json] [--onnx]`: classify image files with the
model's own recorded preprocessing (spachc.preprocess.prepare, the function `eval` uses), in
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
    from ..model_io.folder import is_model_folder, is_run_folder

    if is_model_folder(path) or is_run_folder(path) or (path.is_file() and path.suffix in (".safetensors", ".onnx")):
        return
    if path.suffix == ".pt" and path.is_file():
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
    images: list[Path] = typer.Argument(..., help="Image files (PNG, JPEG, ...)."),
    top_k: int = typer.Option(5, "--top-k", help="How many classes to print per image."),
    as_json: bool = typer.Option(False, "--json", help="Print the predictions as JSON."),
    use_onnx: bool = typer.Option(False, "--onnx", help="Run in onnxruntime (a folder or .safetensors is exported "
                                  "to a temporary ONNX file first)."),
) -> None:
    """Classify image files: top-k labels and probabilities, with the model's own preprocessing."""
    from ..model_io.folder import model_info
    from ..preprocess import prepare_files

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
        batch = prepare_files(images, info.preprocessing)
        probs = np.concatenate([softmax(run(batch[i:i + CHUNK])) for i in range(0, len(batch), CHUNK)])
    k = min(top_k, probs.shape[1])
    results = []
    for image, p in zip(images, probs):
        order = np.argsort(-p, kind="stable")[:k]
        results.append({"image": str(image), "top": [{"index": int(i), "label": info.label(int(i)),
                                                      "probability": float(p[i])} for i in order]})
    if as_json:
        out.print_json(json.dumps({"model": str(path), "spec": spec.name, "spec_hash": spec.hash, "backend": backend,
                                   "preprocessing": info.preprocessing.to_cfg(),
                                   "preprocessing_recorded": info.recorded, "predictions": results}))
        return
    for result in results:
        out.print(result["image"], markup=False)
        for rank, top in enumerate(result["top"], 1):
            out.print(f"  {rank}. {top['label']:<20} {100 * top['probability']:6.2f}%", markup=False)


def _onnx_runner(path: Path):
    from ..export.verify import onnx_session

    session = onnx_session(path)
    return lambda batch: onnx_logits(session, batch)


def _export(model, spec, info, target: Path) -> Path:
    from ..export.onnx_export import OnnxOptions, export_onnx

    return export_onnx(model, spec, target, OnnxOptions(), weights="predict --onnx", info=info)


def register(app: typer.Typer) -> None:
    app.command("predict")(reports_errors(predict_command))
