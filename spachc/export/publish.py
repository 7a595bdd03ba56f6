"""Publishing an export: write under a temporary name, verify, rename, and report.

This is the library's export (`spachc.export(...)`), so Python callers get the same
guarantee as the CLI: a file under the final name has passed verification (unless
verification was turned off), and a failed export leaves nothing behind. The CLI only
prints the report.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path

import torch

from ..atomic import publishing
from ..lang.ir import Spec
from ..lang.limits import DEFAULT_MAX_ACTIVATION_GB, DEFAULT_MAX_PARAMS, enforce
from .onnx_export import OnnxOptions, check_options, export_onnx, needs_external_data
from .safetensors_export import export_safetensors
from .verify import Report, verify_onnx, verify_safetensors


@dataclass
class Published:
    """One file written: where, how large, how it was made, and its verification."""

    kind: str  # "onnx" or "safetensors"
    path: Path
    size_bytes: int
    seconds: float
    details: str  # e.g. "opset 18, batch dynamic, size 32x32, fp32" or "12 tensors stored, ..."
    verification: Report | None  # None: --no-verify
    external_data: bool = False


@dataclass
class ExportReport:
    spec: Spec
    weights: str  # where the weights came from
    params: int
    files: list[Published] = field(default_factory=list)


def publish_onnx(model: torch.nn.Module, spec: Spec, target: str | Path, options: OnnxOptions,
                 weights: str = "initialisation", verify: bool = True, seed: int = 0) -> Published:
    """Export to ONNX and verify it against onnxruntime before it appears under `target`.
    A graph over 2 GB names its .data file after the .onnx, so it is written in place and
    removed (with its .data) when verification fails."""
    target = Path(target)
    check_options(spec, options)
    start = time.perf_counter()
    shape = f"batch {'dynamic' if options.batch is None else options.batch}, " + (
        "size dynamic" if options.dynamic_size else f"size {spec.input[0]}x{spec.input[1]}")
    details = f"opset {options.opset}, {shape}, {options.dtype}"
    if needs_external_data(model, options.dtype):
        try:
            export_onnx(model, spec, target, options, weights=weights)
            report = verify_onnx(target, model, spec, options, seed=seed) if verify else None
            if report is not None:
                report.raise_if_failed()
        except BaseException:
            target.unlink(missing_ok=True)
            target.with_name(target.name + ".data").unlink(missing_ok=True)
            raise
        return Published("onnx", target, target.stat().st_size, time.perf_counter() - start, details, report, True)
    with publishing(target, suffix=".onnx") as written:
        export_onnx(model, spec, written, options, weights=weights)
        seconds = time.perf_counter() - start
        report = verify_onnx(written, model, spec, options, seed=seed) if verify else None
        if report is not None:
            report.raise_if_failed()
        size = written.stat().st_size
    return Published("onnx", target, size, seconds, details, report)


def publish_safetensors(model: torch.nn.Module, spec: Spec, target: str | Path, dtype: str = "fp32",
                        weights: str = "initialisation", verify: bool = True, seed: int = 0) -> Published:
    """Write the weights file and reload it alone (verification) before it appears under `target`."""
    from .safetensors_header import read_header

    target = Path(target)
    start = time.perf_counter()
    with publishing(target, suffix=".safetensors") as written:
        export_safetensors(model, spec, written, dtype, weights=weights)
        seconds = time.perf_counter() - start
        stored = len(read_header(written).tensors)
        report = verify_safetensors(written, model, spec, dtype, seed=seed) if verify else None
        if report is not None:
            report.raise_if_failed()
        size = written.stat().st_size
    details = (f"{stored} tensors stored, {len(model.state_dict()) - stored} shared names re-tied on load, {dtype}")
    return Published("safetensors", target, size, seconds, details, report)


def export(source: str | Path | Spec, *, onnx: str | Path | None = None, safetensors: str | Path | None = None,
           weights: str | Path | None = None, overrides=(), opset: int = 18, batch: int | None = None,
           dynamic_size: bool = False, dtype: str = "fp32", verify: bool = True, seed: int = 0,
           max_params: int = DEFAULT_MAX_PARAMS, max_activation_gb: float = DEFAULT_MAX_ACTIVATION_GB) -> ExportReport:
    """Export a spec (a path, a zoo name, a Spec, or a spachc .safetensors with its weights),
    optionally with `weights` (.safetensors, state.pt or the paper's .pth), to ONNX and/or
    safetensors; each file is verified before it is published. Returns the report."""
    from ..lang.diagnostics import UserError
    from ..nn.build import build
    from ..sources import load_weights_for

    if onnx is None and safetensors is None:
        raise UserError("nothing to export", code="E900",
                        hint="pass --onnx OUT.onnx and/or --safetensors OUT.safetensors")
    for target in (onnx, safetensors):
        if target is not None and Path(target).is_dir():
            raise UserError(f"{target} is a directory; give the file to write", code="E906")
    options = OnnxOptions(opset=opset, batch=batch, dynamic_size=dynamic_size, dtype=dtype)
    spec, state, described = _source(source, overrides, seed)
    enforce(spec, max_params, max_activation_gb)
    if onnx is not None:
        check_options(spec, options)
    if weights is not None:
        if state is not None:
            raise UserError(f"{source} already holds weights; --weights {weights} would replace them",
                            code="E902", hint=f"export {weights} directly, or give a spec instead of {source}")
        state, described = load_weights_for(spec, Path(weights),
                                             own_spec_command="spachc export {path} --onnx OUT.onnx")
    torch.manual_seed(seed)
    model = build(spec, max_params=max_params)
    if state is not None:
        model.load_state_dict(state, strict=True)
    model.eval()
    report = ExportReport(spec, described, sum(p.numel() for p in model.parameters()))
    if onnx is not None:
        report.files.append(publish_onnx(model, spec, onnx, options, described, verify, seed))
    if safetensors is not None:
        report.files.append(publish_safetensors(model, spec, safetensors, dtype, described, verify, seed))
    return report


def _source(source, overrides, seed: int):
    """(spec, weights or None, a description of the weights) of what to export."""
    from ..sources import spec_and_weights

    if isinstance(source, Spec):
        spec = _overridden(source, overrides) if overrides else source
        return spec, None, f"initialisation (seed {seed})"
    spec, state = spec_and_weights(str(source), list(overrides))
    described = f"spachc checkpoint {Path(source).name}" if state is not None else f"initialisation (seed {seed})"
    return spec, state, described


def _overridden(spec: Spec, overrides) -> Spec:
    from ..lang.frontend import parse
    from ..lang.printer import to_text

    return parse(to_text(spec), source=spec.name, overrides=overrides)
