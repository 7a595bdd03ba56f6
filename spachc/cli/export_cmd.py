"""`spachc export SPEC|CHECKPOINT`: ONNX and safetensors files that carry their spec,
verified against onnxruntime (and a reload from the file alone) before they are published.

The work is the library's (`spachc.export(...)`, spachc/export/publish.py); this command
parses its flags, calls it, and prints the report it returns."""

from __future__ import annotations

import json
from pathlib import Path

import typer

from ..diagnostics import DiagnosticError
from ..diagnostics.codes import E901, E1204
from ..runtime.precision import FILE_PRECISIONS
from .common import (SET_OPTION_HELP, UserError, max_activation_option, max_params_option, out, precision_option,
                     reports_errors)


def parse_batch(text: str) -> int | None:
    if text == "dynamic":
        return None
    if text.isdigit() and int(text) >= 1:
        return int(text)
    raise UserError(f"--batch {text}: expected 'dynamic' or a positive integer", code=E901)


def parse_out_indices(text: str | None) -> tuple[int, ...] | None:
    if text is None:
        return None
    try:
        return tuple(int(part) for part in text.split(","))
    except ValueError:
        raise UserError(f"--out-indices {text}: expected comma-separated stage indices, e.g. 0,1,2,3",
                        code=E1204) from None


def print_export_report(report) -> None:
    """The library's ExportReport (spachc.export.publish) as the terminal shows it."""
    spec, info = report.spec, report.info
    out.print(f"model {spec.name} (spec {spec.hash[:12]}), {report.params:,} params, weights: {report.weights}",
              markup=False)
    if not report.trained:
        out.print("  no --weights given: exporting the model as initialised, not trained", markup=False)
    out.print(f"  preprocessing: {info.preprocessing.describe()}" + (" (defaults: not recorded)" if info.note else ""),
              markup=False)
    for published in report.files:
        print_published(published)


def report_json(report) -> dict:
    """The same report as JSON (`--json`): every figure the text shows, as numbers."""
    def verification(v):
        return None if v is None else {
            "ok": v.ok, "notes": list(v.notes),
            "cases": [{"shape": list(c.shape), "max_abs_diff": c.max_abs_diff, "limit": c.tolerance,
                       "max_abs_logit": c.max_abs_logit, "note": c.note.strip(), "ok": c.ok} for c in v.cases]}

    def int8(q):
        return None if q is None else {"bytes": q.size_bytes, "seconds": q.seconds, "images": q.gate.images,
                                       "agreement": q.gate.agreement, "min_agreement": q.gate.min_agreement,
                                       "max_abs_logit_error": q.gate.max_abs_logit_error, "ok": q.gate.ok,
                                       "disagreements": q.gate.disagreements, "allowed_disagreements": q.gate.allowed,
                                       "top1_int8": q.gate.top1_int8, "top1_fp32": q.gate.top1_fp32}

    return {"model": report.spec.name, "spec_hash": report.spec.hash, "params": report.params,
            "weights": report.weights, "trained": report.trained,
            "preprocessing": report.info.preprocessing.to_cfg(), "preprocessing_recorded": not report.info.note,
            "files": [{"kind": f.kind, "path": str(f.path), "published": f.published, "bytes": f.size_bytes,
                       "seconds": f.seconds, "details": f.details, "external_data": f.external_data,
                       "verification": verification(f.verification), "int8": int8(f.int8)}
                      for f in report.files]}


def print_published(published) -> None:
    if not published.published and not published.size_bytes:
        return  # failed before anything was written: the error says why
    size = f"{published.size_bytes / 2**20:.1f} MiB"
    if published.kind == "onnx" and published.int8 is not None:  # the fp32 graph was a step; the file is int8
        out.print(f"onnx: fp32 graph ({size}, {published.details}) exported in {published.seconds:.1f} s, to be "
                  f"quantized (not kept)", markup=False)
    elif published.kind == "onnx":
        out.print(f"onnx: {published.path} ({size}, {published.details}) exported in {published.seconds:.1f} s"
                  + (", weights in its .data file" if published.external_data else ""), markup=False)
    else:
        out.print(f"{published.kind}: {published.path} ({size}, {published.details})", markup=False)
    if published.verification is None:
        if published.published:
            out.print("  not verified (--no-verify)", markup=False)
        return
    for note in published.verification.notes:
        out.print(f"  {note}", markup=False)
    for case in published.verification.cases:
        out.print(f"  {case.describe()}", markup=False)
    if published.int8 is not None:
        out.print(f"int8: {published.path} ({published.int8.size_bytes / 2**20:.1f} MiB, static QDQ, per-channel "
                  f"weights) quantized and checked in {published.int8.seconds:.1f} s", markup=False)
        out.print(f"  {published.int8.gate.describe()}", markup=False)


def export_command(
    source: str = typer.Argument(..., metavar="SPEC", help="A .spach file, a zoo name, a spachc .safetensors, "
                                 "a model folder or a training run folder."),
    weights: Path = typer.Option(None, "--weights", metavar="PATH", help="Trained weights: .safetensors, "
                                 "state.pt or the paper's .pth.", show_default=False),
    onnx_out: Path = typer.Option(None, "--onnx", metavar="PATH", help="Write an ONNX file here.",
                                  show_default=False, rich_help_panel="Output"),
    safetensors_out: Path = typer.Option(None, "--safetensors", metavar="PATH", help="Write a spachc "
                                         ".safetensors here.", show_default=False, rich_help_panel="Output"),
    verify: bool = typer.Option(True, "--verify/--no-verify", help="Check the files against PyTorch.",
                                rich_help_panel="Output"),
    opset: int = typer.Option(18, "--opset", metavar="N", help="ONNX opset (18 or newer).", rich_help_panel="ONNX"),
    batch: str = typer.Option("dynamic", "--batch", metavar="N|dynamic", help="Batch axis.",
                              rich_help_panel="ONNX"),
    dynamic_size: bool = typer.Option(False, "--dynamic-size", help="Height and width may vary (default with "
                                      "--features).", rich_help_panel="ONNX"),
    features: bool = typer.Option(False, "--features", help="The backbone: one output per stage.",
                                  rich_help_panel="ONNX"),
    out_indices: str = typer.Option(None, "--out-indices", metavar="I,J", help="With --features: which stages.",
                                    show_default=False, rich_help_panel="ONNX"),
    int8: bool = typer.Option(False, "--int8", help="Quantize the ONNX file to int8 (static QDQ).",
                              rich_help_panel="int8"),
    calibrate: str = typer.Option(None, "--calibrate", metavar="DATA", help="Images: train split calibrates, val "
                                  "checks.", show_default=False, rich_help_panel="int8"),
    min_agreement: float = typer.Option(0.99, "--min-agreement", metavar="P", help="Least top-1 agreement with "
                                        "fp32.", rich_help_panel="int8"),
    dtype: str = precision_option("export", "fp32", FILE_PRECISIONS),
    set_: list[str] = typer.Option([], "--set", metavar="K=V", help=SET_OPTION_HELP),
    seed: int = typer.Option(0, "--seed", metavar="N", help="Seed of initial weights, test inputs."),
    as_json: bool = typer.Option(False, "--json", help="Print the report as JSON."),
    max_params: int = max_params_option(),
    max_activation_gb: float = max_activation_option(),
) -> None:
    """Export a model to ONNX and/or safetensors and verify the files against PyTorch."""
    from ..export.publish import ExportReport, export

    show = (lambda r: out.print_json(json.dumps(report_json(r)))) if as_json else print_export_report

    try:
        with out.status("exporting and verifying"):
            report = export(source, onnx=onnx_out, safetensors=safetensors_out, weights=weights, overrides=set_,
                            opset=opset, batch=parse_batch(batch), dynamic_size=dynamic_size, dtype=dtype,
                            verify=verify, features=features, out_indices=parse_out_indices(out_indices),
                            int8=int8, calibrate=calibrate, min_agreement=min_agreement, seed=seed,
                            max_params=max_params, max_activation_gb=max_activation_gb)
    except DiagnosticError as exc:
        if isinstance(getattr(exc, "report", None), ExportReport):  # what was done before it failed
            show(exc.report)
        raise
    show(report)


def register(app: typer.Typer) -> None:
    app.command("export")(reports_errors(export_command))
