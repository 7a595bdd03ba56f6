"""Export benchmark (not a test): time to export a zoo model to ONNX, and onnxruntime vs
PyTorch CPU inference throughput on that file, both on the same threads.

    .venv/bin/python benchmarks/export_bench.py hybrid_s --threads 2 --runs 5 --export-runs 3

Prints a Markdown section for benchmarks/RESULTS.md. Weights are random (the
initialisation with every tensor perturbed), which does not change the speed.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

import torch

import spachc
from spachc.export.onnx_export import OnnxOptions, export_onnx
from spachc.export.verify import onnx_session


def timed(fn) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def alternating(first, second, runs: int) -> tuple[list[float], list[float]]:
    """Time two runners turn about, after one warm-up each (allocations, kernel selection),
    so a change in the machine's load hits both alike."""
    first(), second()
    times = [(timed(first), timed(second)) for _ in range(runs)]
    return [a for a, _ in times], [b for _, b in times]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("spec", nargs="?", default="hybrid_s")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--export-runs", type=int, default=3)
    parser.add_argument("--batches", type=int, nargs="+", default=[1, 8])
    args = parser.parse_args()

    torch.set_num_threads(args.threads)
    spec = spachc.load(args.spec)
    torch.manual_seed(0)
    model = spachc.build(spec).eval()
    with torch.no_grad():
        for p in model.parameters():
            p.add_(torch.randn_like(p) * 0.02)

    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / f"{spec.name}.onnx"
        export_times = [timed(lambda: export_onnx(model, spec, path, OnnxOptions())) for _ in range(args.export_runs)]
        size_mb = path.stat().st_size / 2**20
        session = onnx_session(path, threads=args.threads)
        rows = []
        for batch in args.batches:
            images = torch.randn(batch, spec.channels, *spec.input)
            feed = {"images": images.numpy()}

            def run_torch():
                with torch.inference_mode():
                    model(images)

            def run_ort():
                session.run(["logits"], feed)

            torch_times, ort_times = alternating(run_torch, run_ort, args.runs)
            rows.append((batch, batch / statistics.median(torch_times), batch / statistics.median(ort_times)))

    import onnxruntime

    print(f"## Export: {spec.name} ({spachc.summary(spec).params:,} params, fp32, {spec.input[0]}x{spec.input[1]})\n")
    print(f"- date: {datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC; machine: {platform.machine()}, "
          f"{os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f} at the end; {torch.get_num_threads()} "
          f"threads for both runtimes; torch {torch.__version__}, onnxruntime {onnxruntime.__version__}")
    print(f"- command: `.venv/bin/python benchmarks/export_bench.py {args.spec} --threads {args.threads} "
          f"--runs {args.runs} --export-runs {args.export_runs}`")
    print(f"- ONNX export (dynamo exporter, opset 18, dynamic batch, single {size_mb:.0f} MiB file): "
          f"median {statistics.median(export_times):.1f} s of {len(export_times)} "
          f"({', '.join(f'{t:.1f}' for t in export_times)})\n")
    print("| batch | PyTorch images/s | onnxruntime images/s | onnxruntime / PyTorch |")
    print("|---:|---:|---:|---:|")
    for batch, torch_ips, ort_ips in rows:
        print(f"| {batch} | {torch_ips:.2f} | {ort_ips:.2f} | {ort_ips / torch_ips:.2f}x |")
    print(f"\nMedians of {args.runs} timed runs, PyTorch and onnxruntime taking turns after one warm-up "
          "each; PyTorch eval in `inference_mode`; onnxruntime's idle threads do not spin (they would "
          "steal the CPU from PyTorch's turn); the ratio compares runs made side by side.")


if __name__ == "__main__":
    main()
