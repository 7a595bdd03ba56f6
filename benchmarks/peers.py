"""spachc against its peers, in one alternating run on the same weights (CPU).

    .venv/bin/python benchmarks/peers.py --models hybrid_s --threads 2 --rounds 7
    .venv/bin/python benchmarks/peers.py --models conv_ms_xxs mlp_ms_xxs trans_ms_xxs --compiled

Peers, each given the same random weights (benchmarks/compare.py's `randomise`) and the same
batch of images:
- `reference fp32`: tests/support/reference_spach.py, the paper-style implementation;
- `spachc fp32`: the eager module; `spachc bf16`: weights stored in bf16 (spachc/nn/precision.py);
- `spachc fp32 compiled` / `spachc bf16 compiled`: torch.compile (inductor) with freezing
  (weights folded and pre-packed for oneDNN), for the precisions given to `--compiled`
  (default bf16; fp32 compiled measured slower than fp32 eager, see RESULTS.md);
- `onnxruntime fp32` / `onnxruntime int8`: the ONNX export (fixed batch) and its static int8 QDQ
  quantization (spachc/export/int8.py; calibrated here on random images: a speed figure only);
- `openvino fp32` / `openvino bf16`: the same ONNX file in OpenVINO's CPU plugin, if OpenVINO is
  importable. It is a measuring peer, never a dependency of spachc: install it beside the venv,
      .venv/bin/pip install --target .peers openvino   # then run with PYTHONPATH=.peers
Dense 2048² matmuls in fp32 and bf16 are timed inside the same alternation; `share` is a
peer's achieved GFLOP/s (2·MACs per image) over the matmul rate of its own precision.

Each round runs every peer once, in an order that alternates (forward, then reversed); the
figures are medians over rounds. Outputs are compared with spachc fp32 before timing
(max |Δlogit| / max |logit|). Record `uptime` with the figures: the machine may be shared.
"""

from __future__ import annotations

import argparse
import copy
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests"))
sys.path.insert(0, str(REPO / "benchmarks"))

import spachc  # noqa: E402
from compare import randomise  # noqa: E402
from support.reference_spach import reference_from_spachc  # noqa: E402
from spachc.runtime.bench import device_name  # noqa: E402
from spachc.runtime.precision import cpu_flags  # noqa: E402

MATMUL = 2048
FLAGS_SHOWN = ("avx2", "avx512f", "avx512_vnni", "avx512_bf16", "amx_bf16", "amx_int8", "amx_tile")


def torch_runner(module):
    def run(images: torch.Tensor) -> torch.Tensor:
        with torch.inference_mode():
            return module(images).float()
    return run


def compiled(module, images):
    import torch._inductor.config as inductor

    inductor.freezing = True  # fold weights, pre-pack them for oneDNN: inference only
    fn = torch.compile(module)
    with torch.no_grad():
        start = time.perf_counter()
        fn(images)
        print(f"  compiled in {time.perf_counter() - start:.0f} s", flush=True)

    def run(x):
        with torch.no_grad():
            return fn(x).float()
    return run


def ort_runner(path: Path, threads: int):
    from spachc.export.verify import onnx_session

    session = onnx_session(path, threads)
    return lambda images: torch.from_numpy(session.run(["logits"], {"images": images.numpy()})[0])


def openvino_runners(path: Path, threads: int) -> dict:
    try:
        import openvino as ov
    except ImportError:
        print("  openvino not importable: its peers are skipped (see the module docstring)")
        return {}
    core = ov.Core()
    runners = {}
    for name, hint in (("openvino fp32", "f32"), ("openvino bf16", "bf16")):
        model = core.compile_model(str(path), "CPU", {"INFERENCE_PRECISION_HINT": hint,
                                                      "INFERENCE_NUM_THREADS": threads,
                                                      "PERFORMANCE_HINT": "LATENCY"})
        request = model.create_infer_request()

        def run(images, request=request):
            return torch.from_numpy(np.array(request.infer({0: images.numpy()})[0]))
        runners[name] = run
    return runners


def matmul_runner(dtype):
    a = torch.randn(MATMUL, MATMUL, dtype=dtype)
    b = torch.randn(MATMUL, MATMUL, dtype=dtype)
    out = torch.empty(MATMUL, MATMUL, dtype=dtype)
    return lambda _images: torch.mm(a, b, out=out)


def peers_for(name: str, args, workdir: Path) -> tuple[dict, torch.Tensor, int]:
    from spachc.export.int8 import quantize
    from spachc.export.onnx_export import OnnxOptions, export_onnx
    from spachc.nn.precision import LowPrecisionNet

    spec = spachc.load(name)
    torch.manual_seed(0)
    model = spachc.build(spec).eval()
    randomise(model, 0)
    images = torch.randn(args.batch, spec.channels, *spec.input, generator=torch.Generator().manual_seed(1))
    runners = {"reference fp32": torch_runner(reference_from_spachc(spec, model).eval()),
               "spachc fp32": torch_runner(model),
               "spachc bf16": torch_runner(LowPrecisionNet(copy.deepcopy(model)))}
    if "fp32" in args.compiled:
        runners["spachc fp32 compiled"] = compiled(copy.deepcopy(model), images)
    if "bf16" in args.compiled:
        runners["spachc bf16 compiled"] = compiled(LowPrecisionNet(copy.deepcopy(model)), images)
    fp32_onnx, int8_onnx = workdir / f"{name}.onnx", workdir / f"{name}.int8.onnx"
    export_onnx(model, spec, fp32_onnx, OnnxOptions(batch=args.batch))
    runners["onnxruntime fp32"] = ort_runner(fp32_onnx, args.threads)
    calibration = torch.randn(4 * args.batch, spec.channels, *spec.input, generator=torch.Generator().manual_seed(2))
    quantize(fp32_onnx, int8_onnx, calibration.numpy(), args.batch)
    runners["onnxruntime int8"] = ort_runner(int8_onnx, args.threads)
    runners.update(openvino_runners(fp32_onnx, args.threads))
    return runners, images, spachc.summary(spec).macs


def measure(name: str, args, workdir: Path) -> None:
    print(f"\n## {name}: batch {args.batch}, {torch.get_num_threads()} threads, load average {os.getloadavg()}",
          flush=True)
    runners, images, macs = peers_for(name, args, workdir)
    expected = runners["spachc fp32"](images)
    errors = {}
    for peer, run in runners.items():
        got = run(images)
        errors[peer] = float((got - expected).abs().max() / expected.abs().max())
    runners["matmul fp32"] = matmul_runner(torch.float32)
    runners["matmul bf16"] = matmul_runner(torch.bfloat16)
    order = list(runners)
    for peer in order:  # warm-up
        runners[peer](images)
    times = {peer: [] for peer in order}
    for round_ in range(args.rounds):
        for peer in order if round_ % 2 == 0 else order[::-1]:
            start = time.perf_counter()
            runners[peer](images)
            times[peer].append(time.perf_counter() - start)
    median = {peer: statistics.median(t) for peer, t in times.items()}
    rate = {dtype: 2 * MATMUL**3 / median[f"matmul {dtype}"] / 1e9 for dtype in ("fp32", "bf16")}
    print(f"dense {MATMUL}² matmul: fp32 {rate['fp32']:.0f} GFLOP/s, bf16 {rate['bf16']:.0f} GFLOP/s "
          f"(same alternation); load average after {os.getloadavg()[0]:.2f}")
    print("| peer | ms/batch | img/s | vs reference | vs openvino bf16 | share of matmul (own precision) | "
          "max rel. logit error vs spachc fp32 |")
    print("|---|---|---|---|---|---|---|")
    ov_bf16 = median.get("openvino bf16")
    for peer in order:
        if peer.startswith("matmul"):
            continue
        seconds = median[peer]
        gflops = 2 * macs * args.batch / seconds / 1e9
        own = rate["fp32"] if "fp32" in peer else rate["bf16"] if "bf16" in peer else None
        share = f"{100 * gflops / own:.0f}%" if own else "n/a (int8)"
        vs_ov = f"{ov_bf16 / seconds:.2f}x" if ov_bf16 else "n/a"
        print(f"| {peer} | {1e3 * seconds:.1f} | {args.batch / seconds:.1f} | "
              f"{median['reference fp32'] / seconds:.2f}x | {vs_ov} | {share} | {errors[peer]:.1e} |", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--models", nargs="+", default=["hybrid_s"])
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--compiled", nargs="*", default=["bf16"], choices=("fp32", "bf16"),
                        help="precisions to also run through torch.compile (minutes each on 2 cores)")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    flags = cpu_flags()
    print(f"{device_name(torch.device('cpu'))}; flags: {' '.join(f for f in FLAGS_SHOWN if f in flags)}; "
          f"torch {torch.__version__}; OMP_WAIT_POLICY={os.environ.get('OMP_WAIT_POLICY', 'unset')}")
    with tempfile.TemporaryDirectory() as tmp:
        for name in args.models:
            measure(name, args, Path(tmp))


if __name__ == "__main__":
    main()
