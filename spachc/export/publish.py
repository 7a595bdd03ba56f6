"""Publishing an export: write under a temporary name, verify, rename, and report.

This is the library's export (`spachc.export(...)`) and the only path `spachc export` takes,
so Python callers get the CLI's guarantee: a file under the final name has passed
verification (unless verification was turned off), and a failed export leaves nothing
behind. It returns an `ExportReport` (data); the CLI only prints it. When an export fails,
the coded error carries the report of what had been done and measured so far as `.report`,
so the figures of a failed verification are never lost.

Covered here, once: fp32/fp16/bf16 graphs; a graph over 2 GB (its weights in a `.data` file
named after the .onnx, so it is written in place and removed with its .data on failure);
backbone graphs (`features=True`: one output per stage, any input size where the spec
allows); int8 (the fp32 graph is made and verified first, then quantized and gated on real
images; only the int8 file is published); and safetensors (reloaded from the file alone).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Sequence

import torch

from ..files.atomic import publishing, temporary_beside
from ..diagnostics import DiagnosticError, UserError
from ..diagnostics.codes import E900, E905, E906, E907, E908, E1204
from ..lang.ir import Spec
from ..lang.limits import DEFAULT_MAX_ACTIVATION_GB, DEFAULT_MAX_PARAMS
from ..lang.sizes import any_size
from ..model_io.metadata import ModelInfo
from .int8 import DEFAULT_MIN_AGREEMENT, Int8Report
from ..runtime.precision import FILE_PRECISIONS, choose
from .onnx_export import OnnxOptions, check_options, export_onnx, needs_external_data
from .safetensors_export import export_safetensors
from .verify import BF16_UNVERIFIABLE, Report, verify_onnx, verify_safetensors


@dataclass
class Quantized:
    """The int8 graph made from a verified fp32 graph, and its accuracy gate."""

    size_bytes: int
    seconds: float
    gate: Int8Report


@dataclass
class Published:
    """One file asked for: where, how large, how it was made, and its verification. Filled in
    as the export proceeds, so a failed one still shows how far it got."""

    kind: str  # "onnx" or "safetensors"
    path: Path  # the final name
    details: str  # e.g. "opset 18, batch dynamic, size 32x32, fp32" or "12 tensors stored, ..."
    size_bytes: int = 0  # of the file exported (for int8: the fp32 graph it was made from)
    seconds: float = 0.0
    verification: Report | None = None  # None: not verified (verify=False), or it failed before
    external_data: bool = False  # weights in `path`.data (a graph over 2 GB)
    int8: Quantized | None = None
    published: bool = False  # under its final name


@dataclass
class ExportReport:
    spec: Spec
    weights: str  # where the weights came from
    trained: bool  # False: exported as initialised
    params: int
    info: ModelInfo  # the preprocessing and labels written into the files
    files: list[Published] = field(default_factory=list)


def export(source: str | Path | Spec, *, onnx: str | Path | None = None, safetensors: str | Path | None = None,
           weights: str | Path | None = None, overrides: Sequence[str] = (), opset: int = 18,
           batch: int | None = None, dynamic_size: bool = False, dtype: str = "fp32", verify: bool = True,
           features: bool = False, out_indices: Sequence[int] | None = None, int8: bool = False,
           calibrate: str | None = None, min_agreement: float = DEFAULT_MIN_AGREEMENT, seed: int = 0,
           max_params: int = DEFAULT_MAX_PARAMS, max_activation_gb: float = DEFAULT_MAX_ACTIVATION_GB) -> ExportReport:
    """Export a model to ONNX and/or safetensors; each file is verified before it is published.

    `source`: a Spec, a .spach path, a zoo name, a spachc .safetensors, a model folder, a
    training run folder (its best weights) or a state.pt; `weights` (for a spec): .safetensors, state.pt or the paper's .pth. `batch=None`
    is a dynamic batch axis. `features=True` exports the backbone (one output per stage in
    `out_indices`); `int8=True` quantizes the ONNX file, calibrated and gated on `calibrate`'s
    images. Raises a coded UserError (with `.report` once the model is loaded) on failure.
    """
    from ..model_io.export_source import model_to_export

    out_indices = tuple(out_indices) if out_indices is not None else None
    options = OnnxOptions(opset=opset, batch=batch, dynamic_size=dynamic_size, dtype=dtype)
    check_request(onnx, safetensors, options, verify, features, out_indices, int8, calibrate, min_agreement)
    chosen = model_to_export(source, weights, overrides, seed, max_params, max_activation_gb)
    spec, model = chosen.spec, chosen.model
    if features:
        model = backbone_of(model, out_indices)
        options = replace(options, dynamic_size=options.dynamic_size or any_size(spec))
    if onnx is not None:
        check_options(spec, options)
    report = ExportReport(spec, chosen.weights, chosen.trained, sum(p.numel() for p in model.parameters()),
                          chosen.info)
    try:
        if onnx is not None:
            publish_onnx(model, spec, onnx, options, chosen.weights, verify, seed, chosen.info,
                         (calibrate, min_agreement) if int8 else None, into=report)
        if safetensors is not None:
            publish_safetensors(model, spec, safetensors, dtype, chosen.weights, verify, seed, chosen.info,
                                into=report)
    except DiagnosticError as exc:
        exc.report = report  # what had been written and measured when it failed
        raise
    return report


def check_request(onnx, safetensors, options: OnnxOptions, verify: bool, features: bool,
                  out_indices: tuple[int, ...] | None, int8: bool, calibrate: str | None,
                  min_agreement: float) -> None:
    """Refuse a combination of outputs and options that cannot be exported, before any work."""
    if onnx is None and safetensors is None:
        raise UserError("nothing to export", code=E900,
                        hint="pass --onnx OUT.onnx and/or --safetensors OUT.safetensors")
    for target in (onnx, safetensors):
        if target is not None and Path(target).is_dir():
            raise UserError(f"{target} is a directory; give the file to write", code=E906)
    choose(options.dtype, FILE_PRECISIONS, command="export")  # E1016, as every command's --dtype
    if (features or out_indices is not None) and (onnx is None or safetensors is not None):
        raise UserError("--features and --out-indices export a backbone graph: give --onnx, and no --safetensors",
                        code=E1204, hint="the weights of a backbone are the model's: export them without --features")
    if out_indices is not None and not features:
        raise UserError("--out-indices needs --features", code=E1204)
    if int8 and (features or onnx is None or calibrate is None or options.dtype != "fp32" or not verify):
        raise UserError("--int8 quantizes the ONNX file from fp32 and gates it on real images", code=E908,
                        hint="pass --onnx OUT.onnx --calibrate DATA, without --features, --dtype or --no-verify")
    if (calibrate is not None or min_agreement != DEFAULT_MIN_AGREEMENT) and not int8:
        raise UserError("--calibrate and --min-agreement apply to --int8 only", code=E908)
    if not 0.0 < min_agreement <= 1.0:
        raise UserError(f"--min-agreement {min_agreement}: expected a share in (0, 1]", code=E908)
    if onnx is not None and verify and options.dtype == "bf16":
        raise UserError(BF16_UNVERIFIABLE, code=E905)


def backbone_of(model: torch.nn.Module, out_indices: tuple[int, ...] | None) -> torch.nn.Module:
    """The classifier's stem and stages as a features_only module (same weights, no head)."""
    from ..nn.features import SpachFeatures

    try:
        return SpachFeatures(model, out_indices).eval()
    except ValueError as exc:
        raise UserError(f"--out-indices: {exc}", code=E1204) from None


def publish_onnx(model: torch.nn.Module, spec: Spec, target: str | Path, options: OnnxOptions,
                 weights: str = "initialisation", verify: bool = True, seed: int = 0, info: ModelInfo | None = None,
                 int8: tuple[str, float] | None = None, into: ExportReport | None = None) -> Published:
    """Export to ONNX and verify it against onnxruntime before it appears under `target`.
    `int8` = (calibration data, minimum top-1 agreement): the verified fp32 graph is quantized
    and gated, and only the int8 file is published."""
    target = Path(target)
    check_options(spec, options)
    shape = f"batch {'dynamic' if options.batch is None else options.batch}, " + (
        "size dynamic" if options.dynamic_size else f"size {spec.input[0]}x{spec.input[1]}")
    result = _added(Published("onnx", target, f"opset {options.opset}, {shape}, {options.dtype}"), into)
    result.external_data = needs_external_data(model, options.dtype)
    # Written under a temporary name and renamed once verified. A published graph over 2 GB
    # names its .data file after the .onnx, so it is written in place and removed on failure.
    # The fp32 graph an int8 file is made from is never published: always a temporary name.
    in_place = result.external_data and int8 is None
    written = target if in_place else temporary_beside(target, ".onnx")
    start = time.perf_counter()
    try:
        export_onnx(model, spec, written, options, weights=weights, info=info)
        result.seconds = time.perf_counter() - start
        result.size_bytes = written.stat().st_size
        if verify:
            result.verification = verify_onnx(written, model, spec, options, seed=seed)
            result.verification.raise_if_failed()
        if int8 is not None:
            _publish_int8(written, target, spec, options, *int8, result, info)
            _remove(written)
        elif not in_place:
            written.replace(target)
    except BaseException:
        _remove(written)
        raise
    result.published = True
    return result


def _remove(graph: Path) -> None:
    """An ONNX file and, if it has one, its external-data file."""
    graph.unlink(missing_ok=True)
    graph.with_name(graph.name + ".data").unlink(missing_ok=True)


def _publish_int8(fp32_file: Path, target: Path, spec: Spec, options: OnnxOptions, data: str, min_agreement: float,
                  result: Published, info: ModelInfo | None = None) -> None:
    from .int8 import Int8Error, make_int8

    start = time.perf_counter()
    with publishing(target, suffix=".int8.onnx") as int8_file:
        try:
            labels = info.labels if info is not None and info.note is None else None  # recorded class names
            gate = make_int8(fp32_file, int8_file, spec, data, options.batch, min_agreement, labels)
        except Int8Error as exc:
            raise UserError(str(exc), code=exc.code,
                            hint="calibrate on images like the ones the model will see, or lower --min-agreement"
                            if exc.code == E907 else None) from None
        result.int8 = Quantized(int8_file.stat().st_size, time.perf_counter() - start, gate)


def publish_safetensors(model: torch.nn.Module, spec: Spec, target: str | Path, dtype: str = "fp32",
                        weights: str = "initialisation", verify: bool = True, seed: int = 0,
                        info: ModelInfo | None = None, into: ExportReport | None = None) -> Published:
    """Write the weights file and reload it alone (verification) before it appears under `target`."""
    from ..model_io.header import read_header

    target = Path(target)
    result = _added(Published("safetensors", target, dtype), into)
    start = time.perf_counter()
    with publishing(target, suffix=".safetensors") as written:
        export_safetensors(model, spec, written, dtype, weights=weights, info=info)
        result.seconds = time.perf_counter() - start
        result.size_bytes = written.stat().st_size
        stored = len(read_header(written).tensors)
        result.details = (f"{stored} tensors stored, {len(model.state_dict()) - stored} shared names re-tied on "
                          f"load, {dtype}")
        if verify:
            result.verification = verify_safetensors(written, model, spec, dtype, seed=seed)
            result.verification.raise_if_failed()
    result.published = True
    return result


def _added(published: Published, report: ExportReport | None) -> Published:
    if report is not None:
        report.files.append(published)
    return published
