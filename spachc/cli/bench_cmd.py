"""`spachc bench SPEC`: images/s, ms/step, peak memory and achieved FLOP/s of a compiled spec."""

from __future__ import annotations

import json

import typer
from rich.table import Table

from ..lang.limits import enforce
from ..runtime.precision import INFERENCE
from .common import (SET_OPTION_HELP, autocast_option, device_option, human, max_activation_option,
                     max_params_option, out, precision_option, reports_errors, threads_option)
from ..model_io.arguments import load_spec_or_weights

AMPS = ("off", "bf16", "fp16")  # bench times the autocast it is told; `auto` is training's rule


def render(report) -> Table:
    table = Table(title=f"{report.spec} on {report.device} ({report.device_name}), batch {report.batch_size}, "
                        f"{report.threads} threads, {report.precision} inference, amp {report.amp}"
                        + (", compiled" if report.compile else "") + (", channels-last" if report.channels_last else ""),
                  title_justify="left")
    for col in ("mode", "images/s", "ms/step", "GFLOP/s", "of matmul", "peak memory"):
        table.add_column(col, justify="left" if col == "mode" else "right")
    for r in report.results:
        table.add_row(r.mode, f"{r.images_per_s:.1f}", f"{r.ms_per_step:.1f}", f"{r.achieved_gflops:.1f}",
                      f"{100 * r.matmul_share:.0f}%", f"{human(r.peak_memory_bytes)}B")
    return table


def bench_command(
    spec: str = typer.Argument(..., help="A .spach file, a zoo name, a spachc .safetensors file or a model folder."),
    set_: list[str] = typer.Option([], "--set", help=SET_OPTION_HELP),
    batch_size: int = typer.Option(8, "--batch-size", "-b", help="Images per step."),
    mode: str = typer.Option("infer", "--mode", help="infer, train (forward+backward+AdamW step) or both."),
    device: str = device_option(),
    dtype: str = precision_option("bench", "auto", INFERENCE),
    amp: str = autocast_option("bench", "off", AMPS),
    compile_: bool = typer.Option(False, "--compile", help="torch.compile the model (CUDA inference: with CUDA graphs)."),
    channels_last: bool = typer.Option(False, "--channels-last", help="Images and conv weights in channels-last layout."),
    steps: int = typer.Option(10, "--steps", help="Timed steps; the median is reported."),
    warmup: int = typer.Option(3, "--warmup", help="Untimed steps first (they absorb compilation)."),
    threads: int = threads_option(),
    as_json: bool = typer.Option(False, "--json", help="Print the report as JSON (fields: docs/performance.md)."),
    max_params: int = max_params_option(),
    max_activation_gb: float = max_activation_option(),
) -> None:
    """Benchmark a spec: images/s, ms/step, peak memory, MACs, GFLOP/s and share of matmul rate."""
    from ..runtime.bench import benchmark  # it checks --mode and the counts (E961, E962)

    resolved, state = load_spec_or_weights(spec, set_)
    enforce(resolved, max_params, max_activation_gb)
    report = benchmark(resolved, state=state, batch_size=batch_size, mode=mode, device=device, amp=amp, dtype=dtype,
                       compile=compile_, channels_last=channels_last, steps=steps, warmup=warmup, threads=threads,
                       max_params=max_params)
    if as_json:
        typer.echo(json.dumps(report.to_dict(), indent=2))
        return
    out.print(render(report))
    out.print(f"MACs {report.macs:,} per image ({report.macs / 1e9:.3f} G); params {report.params:,}; "
              f"dense matmul {report.matmul_gflops:.1f} GFLOP/s ({report.matmul_size}² {report.matmul_dtype})")



def register(app: typer.Typer) -> None:
    app.command("bench")(reports_errors(bench_command))
