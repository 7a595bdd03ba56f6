"""`spachc export SPEC|CHECKPOINT`: ONNX and safetensors files that carry their spec,
verified against onnxruntime (and a reload from the file alone) before they are published.
The work is the library's (spachc.export.publish); this module parses flags and prints."""

from __future__ import annotations

from enum import Enum
from pathlib import Path
from typing import Optional

import typer

from .common import SET_OPTION_HELP, UserError, max_activation_option, max_params_option, out, reports_errors
from .loading import is_weights_file


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


def print_report(report) -> None:
    """The export report: the model, then each file with its verification figures."""
    spec = report.spec
    out.print(f"model {spec.name} (spec {spec.hash[:12]}), {report.params:,} params, weights: {report.weights}",
              markup=False)
    for f in report.files:
        what = f"{f.path} ({f.size_bytes / 2**20:.1f} MiB, {f.details})"
        if f.kind == "onnx":
            out.print(f"onnx: {what} exported in {f.seconds:.1f} s"
                      + (", weights in its .data file" if f.external_data else ""), markup=False)
        else:
            out.print(f"safetensors: {what}", markup=False)
        if f.verification is None:
            out.print("  not verified (--no-verify)", markup=False)
            continue
        for note in f.verification.notes:
            out.print(f"  {note}", markup=False)
        for case in f.verification.cases:
            out.print(f"  {case.describe()}", markup=False)


def export_command(
    source: str = typer.Argument(..., metavar="SPEC", help="A .spach file, a zoo name, or a spachc .safetensors."),
    onnx_out: Optional[Path] = typer.Option(None, "--onnx", metavar="PATH", help="Write an ONNX file here.",
                                            show_default=False, rich_help_panel="Output"),
    safetensors_out: Optional[Path] = typer.Option(None, "--safetensors", metavar="PATH", help="Write a spachc "
                                                   ".safetensors here.", show_default=False,
                                                   rich_help_panel="Output"),
    weights: Optional[Path] = typer.Option(None, "--weights", metavar="PATH", help="Trained weights: .safetensors, "
                                           "state.pt or the paper's .pth.",
                                           show_default=False),
    set_: list[str] = typer.Option([], "--set", metavar="K=V", help=SET_OPTION_HELP),
    opset: int = typer.Option(18, "--opset", metavar="N", help="ONNX opset (18 or newer).", rich_help_panel="ONNX"),
    batch: str = typer.Option("dynamic", "--batch", metavar="N|dynamic", help="Batch axis.",
                              rich_help_panel="ONNX"),
    dynamic_size: bool = typer.Option(False, "--dynamic-size", help="Height and width may vary (no mlp stages).",
                                      rich_help_panel="ONNX"),
    dtype: DType = typer.Option(DType.fp32, "--dtype", metavar="fp32|fp16|bf16", help="Precision of the files."),
    verify: bool = typer.Option(True, "--verify/--no-verify", help="Check the files against PyTorch.",
                                rich_help_panel="Output"),
    seed: int = typer.Option(0, "--seed", metavar="N", help="Seed of initial weights, test inputs."),
    max_params: int = max_params_option(),
    max_activation_gb: float = max_activation_option(),
) -> None:
    """Export a model to ONNX and/or safetensors, verified against PyTorch."""
    from ..export.publish import export

    if weights is None and not is_weights_file(source) and (onnx_out or safetensors_out):
        out.print("  no --weights given: exporting the model as initialised, not trained", markup=False)
    report = export(source, onnx=onnx_out, safetensors=safetensors_out, weights=weights, overrides=set_,
                    opset=opset, batch=parse_batch(batch), dynamic_size=dynamic_size, dtype=dtype.value,
                    verify=verify, seed=seed, max_params=max_params, max_activation_gb=max_activation_gb)
    print_report(report)


def register(app: typer.Typer) -> None:
    app.command("export")(reports_errors(export_command))
