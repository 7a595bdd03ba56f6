"""The paper-style reference against spachc on one device, timed by the code of `spachc bench`.

    python3 benchmarks/reference_speed.py --device cuda --json out.json          # hybrid_s, bf16 and fp32
    python3 benchmarks/reference_speed.py --device cpu --set dim=16 --set input=32 \\
        --infer-batch 2 --train-batch 2 --steps 2 --warmup 1                       # a dry run

Both implementations carry the same random weights (every weight matters) and are first
checked to compute the same function in fp32 (eval mode, TF32 off) on the device. Then each
is timed with `spachc.runtime.bench.run_mode`, exactly as `spachc bench` times spachc: synthetic data
on the device, warm-up steps, a synchronisation after every step, the median step. Inference
at --infer-batch, a training step (forward, backward, AdamW) at --train-batch, once per
--amps entry (bf16 autocast, and fp32 as the paper measured). The reference runs eager as
written; spachc runs eager too, and compiled with --compile. The speedup is
reference ms / spachc ms in the same process, minutes apart at most.
"""

from __future__ import annotations

import argparse
import gc
import json
import sys
from dataclasses import asdict
from datetime import datetime, timezone
from pathlib import Path

import torch

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests"))
sys.path.insert(0, str(REPO / "benchmarks"))

import spachc  # noqa: E402
from compare import randomise, rel_err  # noqa: E402
from support.reference_spach import reference_from_spachc  # noqa: E402
from spachc.runtime.bench import device_name, matmul_rate, resolve_device, run_mode  # noqa: E402
from spachc.runtime.precision import amp_dtype  # noqa: E402

# fp32 on one device in a different operation order: the numerics rule (1e-5) on CPU; GPU
# kernels (cuDNN, cuBLAS, SDPA) sum in other orders, so the check there allows 1e-4.
TOLERANCE = {"cpu": 1e-5, "cuda": 1e-4}


def same_function(model, ref, spec, device: torch.device, seed: int) -> float:
    """Relative logit error of spachc vs the reference in fp32 eval mode on `device`."""
    cudnn_tf32 = torch.backends.cudnn.allow_tf32
    torch.backends.cudnn.allow_tf32 = False
    try:
        images = torch.randn(2, spec.channels, *spec.input, generator=torch.Generator().manual_seed(seed)).to(device)
        model.eval()
        ref.eval()
        with torch.no_grad():
            return rel_err(model(images), ref(images))
    finally:
        torch.backends.cudnn.allow_tf32 = cudnn_tf32


def free(device: torch.device) -> None:
    gc.collect()
    if device.type == "cuda":
        torch.cuda.empty_cache()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", default="hybrid_s", help="zoo name or .spach file")
    parser.add_argument("--set", dest="overrides", action="append", default=[], help="spec override, as spachc --set")
    parser.add_argument("--device", default="cuda", choices=("auto", "cpu", "cuda"))
    parser.add_argument("--infer-batch", type=int, default=256)
    parser.add_argument("--train-batch", type=int, default=128)
    parser.add_argument("--amps", nargs="+", default=["bf16", "off"], choices=("off", "bf16", "fp16"))
    parser.add_argument("--steps", type=int, default=10)
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--compile", action="store_true", help="also time torch.compile'd spachc, as spachc bench")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", type=Path, help="write all figures here")
    args = parser.parse_args()

    device = resolve_device(args.device)
    if device.type == "cuda":
        torch.backends.cudnn.benchmark = True  # as spachc bench
    spec = spachc.load(args.model, overrides=args.overrides)
    torch.manual_seed(args.seed)
    model = spachc.build(spec)
    randomise(model, args.seed)
    ref = reference_from_spachc(spec, model)
    model, ref = model.to(device), ref.to(device)
    error = same_function(model, ref, spec, device, args.seed)
    tolerance = TOLERANCE[device.type]
    print(f"{spec.name} on {device_name(device)}, torch {torch.__version__}: fp32 eval relative error "
          f"{error:.2e} (tolerance {tolerance:g})", flush=True)
    if not error <= tolerance:
        raise SystemExit(f"spachc and the reference differ: relative error {error:.2e} > {tolerance:g}")

    macs = spachc.summary(spec).macs
    report = {"date": datetime.now(timezone.utc).isoformat(timespec="seconds"), "spec": spec.name,
              "spec_hash": spec.hash, "macs": macs, "device": str(device), "device_name": device_name(device),
              "torch": torch.__version__, "command": " ".join(sys.argv), "fp32_rel_err": error,
              "cudnn_allow_tf32": torch.backends.cudnn.allow_tf32,
              "matmul_allow_tf32": torch.backends.cuda.matmul.allow_tf32, "steps": args.steps,
              "warmup": args.warmup, "runs": []}
    impls = {"reference": (ref, False), "spachc": (model, False)}
    if args.compile:
        impls["spachc_compiled"] = (model, True)
    for amp in args.amps:
        matmul_gflops, matmul_size = matmul_rate(device, amp_dtype(amp, device) or torch.float32)
        for mode, batch in (("infer", args.infer_batch), ("train", args.train_batch)):
            gen = torch.Generator().manual_seed(args.seed)
            images = torch.randn(batch, spec.channels, *spec.input, generator=gen).to(device)
            labels = torch.randint(0, spec.classes, (batch,), generator=gen).to(device)
            row = {"amp": amp, "mode": mode, "batch": batch, "matmul_gflops": matmul_gflops,
                   "matmul_size": matmul_size, "results": {}}
            for name, (module, compile_) in impls.items():
                result = run_mode(module, mode, images, labels, device, amp=amp, compile=compile_,
                                  warmup=args.warmup, steps=args.steps, macs=macs, matmul_gflops=matmul_gflops)
                row["results"][name] = asdict(result)
                free(device)
            ref_ms = row["results"]["reference"]["ms_per_step"]
            row["speedup"] = {k: ref_ms / r["ms_per_step"] for k, r in row["results"].items() if k != "reference"}
            report["runs"].append(row)
            print(f"{amp:4s} {mode:5s} batch {batch:4d}: " + "  ".join(
                f"{k} {r['ms_per_step']:8.2f} ms ({r['images_per_s']:8.1f} img/s, "
                f"{100 * r['matmul_share']:4.1f}% of matmul)" for k, r in row["results"].items())
                + "  speedup " + ", ".join(f"{k} {s:.2f}x" for k, s in row["speedup"].items())
                + f"  [matmul {matmul_gflops / 1e3:.1f} TFLOP/s]", flush=True)
    if args.json:
        args.json.write_text(json.dumps(report, indent=2) + "\n")


if __name__ == "__main__":
    main()
