"""`spachc export SPEC|CHECKPOINT`: ONNX and safetensors files that carry their spec,
verified against onnxruntime (and a reload from the file alone) before they are published."""

from __future__ import annotations

import os
import time
from dataclasses import replace
from enum import Enum
from pathlib import Path

import typer

from ..lang.limits import DEFAULT_MAX_ACTIVATION_GB, DEFAULT_MAX_PARAMS, enforce
from ..lang.sizes import any_size
from .common import (SET_OPTION_HELP, UserError, max_activation_option, max_params_option, out,
                     reports_errors)
from .loading import is_weights_file, load_spec_or_weights


class DType(str, Enum):
    fp32 = "fp32"
    fp16 = "fp16"
    bf16 = "bf16"


def parse_batch(text: str) -> int | None:
    if text == "dynamic":
        return None
    if text.isdigit() and int(text) >= 1:
        return int(text)
    raise UserError(f"--batch {text}: expected 'dynamic' or a positive integer", code="E901")


def load_model_to_export(source: str, weights: Path | None, overrides: list[str], seed: int,
                         max_params: int = DEFAULT_MAX_PARAMS, max_activation_gb: float = DEFAULT_MAX_ACTIVATION_GB):
    """(spec, model in eval mode, a description of where its weights came from)."""
    import torch

    from ..nn.build import build

    spec, state = load_spec_or_weights(source, overrides)
    enforce(spec, max_params, max_activation_gb)
    described = f"spachc checkpoint {Path(source).name}" if state is not None else f"initialisation (seed {seed})"
    if weights is not None:
        if state is not None:
            raise UserError(f"{source} already holds weights; --weights {weights} would replace them",
                            code="E902", hint=f"export {weights} directly, or give a spec instead of {source}")
        state, described = weights_for(spec, weights)
    torch.manual_seed(seed)
    model = build(spec, max_params=max_params)
    if state is not None:
        model.load_state_dict(state, strict=True)
    return spec, model.eval(), described


def info_to_export(source: str, weights: Path | None, spec):
    """The preprocessing and labels recorded with the weights being exported (spachc.metadata);
    the defaults, with a note, for an initialisation, an official checkpoint or an old file."""
    from ..folder import model_info
    from ..metadata import ModelInfo, default_preprocessing

    origin = str(weights) if weights is not None else source
    if is_weights_file(origin):
        return model_info(origin, spec)
    pre = default_preprocessing(spec.input, spec.channels)
    return ModelInfo(pre, note=f"no recorded preprocessing with {origin}; writing the defaults: {pre.describe()}")


def parse_out_indices(text: str | None) -> tuple[int, ...] | None:
    if text is None:
        return None
    try:
        return tuple(int(part) for part in text.split(","))
    except ValueError:
        raise UserError(f"--out-indices {text}: expected comma-separated stage indices, e.g. 0,1,2,3",
                        code="E1204") from None


def weights_for(spec, weights: Path) -> tuple[dict, str]:
    """Weights from a spachc .safetensors (its spec must be this spec) or an official .pth."""
    from ..nn.upstream import from_upstream
    from ..nn.weights import load_weights_of
    from .upstream_cmd import load_official_checkpoint

    if is_weights_file(str(weights)):
        theirs, state = load_weights_of(spec, weights)
        if state is None:
            raise UserError(f"{weights} holds weights for spec '{theirs.name}' ({theirs.hash[:12]}), not for "
                            f"'{spec.name}' ({spec.hash[:12]})", code="E903",
                            hint=f"export the checkpoint itself: spachc export {weights} ...")
        return state, f"spachc checkpoint {weights.name}"
    if weights.suffix in (".pth", ".pt"):
        return from_upstream(spec, load_official_checkpoint(weights)), f"official checkpoint {weights.name}"
    raise UserError(f"--weights {weights}: expected a spachc .safetensors file or an official .pth checkpoint",
                    code="E904")


def verify_and_report(verify: bool, run_check) -> None:
    """Print a verification's figures (raising when it fails), or say it was skipped."""
    if not verify:
        out.print("  not verified (--no-verify)", markup=False)
        return
    report = run_check()
    print_report(report)
    report.raise_if_failed()


def print_report(report) -> None:
    for note in report.notes:
        out.print(f"  {note}", markup=False)
    for case in report.cases:
        out.print(f"  {case.describe()}", markup=False)


def export_onnx_file(model, spec, target: Path, options, described: str, verify: bool, seed: int,
                     int8: tuple[str, float] | None = None, info=None) -> None:
    """`int8` = (calibration data, minimum top-1 agreement): the fp32 graph is made and verified
    first, then quantized and gated (spachc/export/int8.py); only the int8 file is published."""
    from ..export.onnx_export import export_onnx, needs_external_data, temporary_sibling
    from ..export.verify import verify_onnx

    # Written under a temporary name and renamed once verified: a failed export leaves no file
    # behind. A graph over 2 GB names its .data file after the .onnx, so it is written in place.
    in_place = needs_external_data(model, options.dtype)
    written = target if in_place else temporary_sibling(target, ".onnx")
    start = time.perf_counter()
    try:
        export_onnx(model, spec, written, options, weights=described, info=info)
        elapsed = time.perf_counter() - start
        shape = f"batch {'dynamic' if options.batch is None else options.batch}, " + (
            "size dynamic" if options.dynamic_size else f"size {spec.input[0]}x{spec.input[1]}")
        out.print(f"onnx: {target} ({written.stat().st_size / 2**20:.1f} MiB, opset {options.opset}, {shape}, "
                  f"{options.dtype}) exported in {elapsed:.1f} s" + (", weights in its .data file" if in_place else ""),
                  markup=False)
        verify_and_report(verify, lambda: verify_onnx(written, model, spec, options, seed=seed))
        if int8 is not None:
            write_int8(written, target, spec, options, *int8)
            written.unlink()
            return
    except BaseException:
        written.unlink(missing_ok=True)
        if in_place:
            written.with_name(written.name + ".data").unlink(missing_ok=True)
        raise
    if not in_place:
        os.replace(written, target)


def write_int8(fp32_file: Path, target: Path, spec, options, data: str, min_agreement: float) -> None:
    from ..export.int8 import Int8Error, make_int8
    from ..export.onnx_export import temporary_sibling

    int8_file = temporary_sibling(target, ".int8.onnx")
    start = time.perf_counter()
    try:
        report = make_int8(fp32_file, int8_file, spec, data, options.batch, min_agreement)
    except Int8Error as exc:
        raise UserError(str(exc), code=exc.code,
                        hint="calibrate on images like the ones the model will see, or lower --min-agreement"
                        if exc.code == "E907" else None) from None
    out.print(f"int8: {target} ({int8_file.stat().st_size / 2**20:.1f} MiB, static QDQ, per-channel weights) "
              f"quantized and checked in {time.perf_counter() - start:.1f} s", markup=False)
    out.print(f"  {report.describe()}", markup=False)
    os.replace(int8_file, target)


def export_safetensors_file(model, spec, target: Path, dtype: str, described: str, verify: bool, seed: int,
                            info=None) -> None:
    from ..export.onnx_export import temporary_sibling
    from ..export.safetensors_export import export_safetensors
    from ..export.verify import verify_safetensors

    written = temporary_sibling(target, ".safetensors")
    try:
        export_safetensors(model, spec, written, dtype, weights=described, info=info)
        stored = len(_stored_names(written))
        out.print(f"safetensors: {target} ({written.stat().st_size / 2**20:.1f} MiB, {stored} tensors stored, "
                  f"{len(model.state_dict()) - stored} shared names re-tied on load, {dtype})", markup=False)
        verify_and_report(verify, lambda: verify_safetensors(written, model, spec, dtype, seed=seed))
    except BaseException:
        written.unlink(missing_ok=True)
        raise
    os.replace(written, target)


def _stored_names(path: Path) -> list[str]:
    from ..export.safetensors_header import read_header

    return [t.name for t in read_header(path).tensors]


def export_command(
    source: str = typer.Argument(..., help="A .spach file, a zoo name, a spachc .safetensors checkpoint or a model folder."),
    weights: Path = typer.Option(None, "--weights", help="A spachc .safetensors checkpoint or an official .pth "
                                 "of the paper's code; without it, the initialisation is exported."),
    onnx_out: Path = typer.Option(None, "--onnx", help="Write an ONNX file here."),
    safetensors_out: Path = typer.Option(None, "--safetensors", help="Write a spachc .safetensors file here."),
    opset: int = typer.Option(18, "--opset", help="ONNX opset (18 or newer)."),
    batch: str = typer.Option("dynamic", "--batch", help="'dynamic' or a fixed batch size."),
    dynamic_size: bool = typer.Option(False, "--dynamic-size", help="Let the ONNX input's height and width vary "
                                      "(specs without mlp stages only; on by default with --features)."),
    features: bool = typer.Option(False, "--features", help="Export the backbone: one output per stage (stage1, "
                                  "stage2, ...; block1, ... for a single-stage model) instead of logits."),
    out_indices: str = typer.Option(None, "--out-indices", help="With --features: which stages, e.g. 0,1,2,3 "
                                    "(timm's out_indices; default all)."),
    dtype: DType = typer.Option(DType.fp32, "--dtype", help="Precision of the exported weights and graph."),
    int8: bool = typer.Option(False, "--int8", help="Write the ONNX file quantized to int8 (static, per-channel, "
                              "QDQ), calibrated on --calibrate DATA and checked on its held-out images."),
    calibrate: str = typer.Option(None, "--calibrate", help="With --int8: an image-folder tree or built-in dataset; "
                                  "its train split calibrates, its val split checks."),
    min_agreement: float = typer.Option(0.99, "--min-agreement", help="With --int8: the smallest share of "
                                        "held-out images where int8 and fp32 agree on the top-1 class; below "
                                        "it the file is not written."),
    verify: bool = typer.Option(True, "--verify/--no-verify", help="Check the files against PyTorch (default on)."),
    set_: list[str] = typer.Option([], "--set", help=SET_OPTION_HELP),
    seed: int = typer.Option(0, "--seed", help="Seed of the initial weights (without --weights) and of the test inputs."),
    max_params: int = max_params_option(),
    max_activation_gb: float = max_activation_option(),
) -> None:
    """Export a model to ONNX and/or safetensors and verify the files against PyTorch."""
    from ..export.onnx_export import OnnxOptions, check_options
    from ..export.verify import BF16_UNVERIFIABLE

    if onnx_out is None and safetensors_out is None:
        raise UserError("nothing to export", code="E900", hint="pass --onnx OUT.onnx and/or --safetensors OUT.safetensors")
    for target in (onnx_out, safetensors_out):
        if target is not None and target.is_dir():
            raise UserError(f"{target} is a directory; give the file to write", code="E906")
    if (features or out_indices is not None) and (onnx_out is None or safetensors_out is not None):
        raise UserError("--features and --out-indices export a backbone graph: give --onnx, and no --safetensors",
                        code="E1204", hint="the weights of a backbone are the model's: export them without --features")
    if out_indices is not None and not features:
        raise UserError("--out-indices needs --features", code="E1204")
    if int8 and (features or onnx_out is None or calibrate is None or dtype != DType.fp32 or not verify):
        raise UserError("--int8 quantizes the ONNX file from fp32 and gates it on real images", code="E908",
                        hint="pass --onnx OUT.onnx --calibrate DATA, without --features, --dtype or --no-verify")
    if (calibrate is not None or min_agreement != 0.99) and not int8:
        raise UserError("--calibrate and --min-agreement apply to --int8 only", code="E908")
    if not 0.0 < min_agreement <= 1.0:
        raise UserError(f"--min-agreement {min_agreement}: expected a share in (0, 1]", code="E908")
    options = OnnxOptions(opset=opset, batch=parse_batch(batch), dynamic_size=dynamic_size, dtype=dtype.value)
    if onnx_out is not None and verify and options.dtype == "bf16":
        raise UserError(BF16_UNVERIFIABLE, code="E905")
    spec, model, described = load_model_to_export(source, weights, set_, seed, max_params, max_activation_gb)
    info = info_to_export(source, weights, spec)
    if features:
        model = backbone_of(model, spec, parse_out_indices(out_indices))
        options = replace(options, dynamic_size=options.dynamic_size or any_size(spec))
    if onnx_out is not None:
        check_options(spec, options)
    params = sum(p.numel() for p in model.parameters())
    out.print(f"model {spec.name} (spec {spec.hash[:12]}), {params:,} params, weights: {described}", markup=False)
    if weights is None and not is_weights_file(source):
        out.print("  no --weights given: exporting the model as initialised, not trained", markup=False)
    out.print(f"  preprocessing: {info.preprocessing.describe()}" + (" (defaults: not recorded)" if info.note else ""),
              markup=False)
    if onnx_out is not None:
        export_onnx_file(model, spec, onnx_out, options, described, verify, seed,
                         (calibrate, min_agreement) if int8 else None, info)
    if safetensors_out is not None:
        export_safetensors_file(model, spec, safetensors_out, dtype.value, described, verify, seed, info)


def backbone_of(model, spec, out_indices):
    """The classifier's stem and stages as a features_only module (same weights, no head)."""
    from ..nn.features import SpachFeatures

    try:
        return SpachFeatures(model, out_indices).eval()
    except ValueError as exc:
        raise UserError(f"--out-indices: {exc}", code="E1204") from None


def register(app: typer.Typer) -> None:
    app.command("export")(reports_errors(export_command))
