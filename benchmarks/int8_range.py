"""int8 weights at full range (±127) against a 7-bit range (±64, onnxruntime's `reduce_range`), on
this CPU: top-1 agreement with fp32 and the max |Δlogit| over the held-out digits.

    .venv/bin/python benchmarks/int8_range.py [--out DIR]

The model is the suite's small digits network (tests/support/trained_digits.py: 6 epochs, a few
seconds), exported to fp32 ONNX by `spachc.export`, quantized both ways by the exporter's own
`quantize` (only `reduce_range` differs) and compared by its own `compare`. On CPUs without VNNI
onnxruntime multiplies uint8 by int8 with `vpmaddubsw`, whose int16 pair sums saturate on
full-range weights; the figures say how much that costs on the CPU it runs on.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

import torch

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests"))

import spachc  # noqa: E402
from spachc.export import int8  # noqa: E402
from spachc.model_io.tensors import save_weights  # noqa: E402
from spachc.runtime.bench import device_name  # noqa: E402
from support.trained_digits import train_digits  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=None, help="keep the files here (default: a temporary folder)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = args.out or Path(tmp)
        folder.mkdir(parents=True, exist_ok=True)
        spec, _, model = train_digits(folder)
        weights, fp32 = folder / "digits.safetensors", folder / "digits.onnx"
        save_weights(model, spec, weights)
        spachc.export(str(weights), onnx=fp32)
        calibration, _ = int8.split_images(spec, "digits", "train", int8.CALIBRATION_IMAGES, None)
        held_out, _ = int8.split_images(spec, "digits", "val", int8.HELD_OUT_IMAGES, None)
        from onnxruntime import quantization

        original = quantization.quantize_static
        print(f"CPU: {device_name(torch.device('cpu'))}; {len(held_out)} held-out digits")
        print("| int8 weights | top-1 agreement | differ | max abs Δlogit | share of max abs logit |")
        print("|---|---|---|---|---|")
        for label, reduce_range in (("full range (±127)", False), ("7-bit (±64)", True)):
            def patched(*a, _reduce=reduce_range, **k):
                return original(*a, **{**k, "reduce_range": _reduce})
            quantization.quantize_static = patched
            try:
                target = folder / f"digits.int8.{'reduced' if reduce_range else 'full'}.onnx"
                int8.quantize(fp32, target, calibration, None)
                report = int8.compare(fp32, target, held_out, None, 0.99, len(calibration), "digits")
            finally:
                quantization.quantize_static = original
            print(f"| {label} | {100 * report.agreement:.2f}% | {report.disagreements} of {report.images} | "
                  f"{report.max_abs_logit_error:.3f} | {100 * report.max_abs_logit_error / report.max_abs_logit:.1f}% |")


if __name__ == "__main__":
    main()
