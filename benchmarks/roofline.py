"""Roofline of a CPU training step (or eval forward): spachc against the paper-style reference.

    OMP_WAIT_POLICY=PASSIVE .venv/bin/python benchmarks/roofline.py --models conv_ms_xxs hybrid_s
    OMP_WAIT_POLICY=PASSIVE .venv/bin/python benchmarks/roofline.py --mode eval

One profiled training step (forward, cross-entropy, backward, AdamW; batch 8 at 224², drop
path 0, each side's optimizer as in compare.py; with `--mode eval` one inference forward) per
implementation, on the same weights, its op time split into
the compute-bound part (GEMMs, attention, convolutions) and the rest (elementwise, norms,
copies, reductions, the optimizer), and both parts set against what this machine does in the
same minute:

- compute: the model's FLOPs (training 3 × 2 × MACs × batch, eval 2 × MACs × batch) over the
  compute-bound time, as a share of a dense 1024² fp32 matmul's rate (the GEMM roof);
- memory: the bytes the rest reads and writes (each op's tensor inputs plus an output the size
  of its largest input: an estimate from the recorded shapes, fp32) over its time, as a share
  of a large tensor copy's rate (the bandwidth roof).

Then the bound: the step if the rest ran at the copy rate, and if it vanished altogether; the
speedup over the reference that each would give. Ratios only: on a shared machine both roofs
move with the load, so they are measured beside the step, not taken from a data sheet.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path

import torch

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests"))
sys.path.insert(0, str(REPO / "benchmarks"))

import spachc  # noqa: E402
from compare import eval_step, randomise, train_step  # noqa: E402
from support.reference_spach import reference_from_spachc  # noqa: E402
from spachc.train.optimizer import fused_adamw  # noqa: E402

COMPUTE = ("aten::mm", "aten::addmm", "aten::bmm", "aten::baddbmm", "mkldnn::_linear_pointwise",
           "aten::mkldnn_convolution", "aten::convolution_backward",
           "aten::_scaled_dot_product_flash_attention_for_cpu",
           "aten::_scaled_dot_product_flash_attention_for_cpu_backward")


def copy_rate(mb: int = 64, reps: int = 5) -> float:
    """GB/s of a large fp32 tensor copy (read + write), the bandwidth roof."""
    a = torch.randn(mb * 2**20 // 4)
    b = torch.empty_like(a)
    b.copy_(a)
    times = []
    for _ in range(reps):
        start = time.perf_counter()
        b.copy_(a)
        times.append(time.perf_counter() - start)
    return 2 * a.numel() * 4 / statistics.median(times) / 1e9


def matmul_rate(size: int = 1024, reps: int = 5) -> float:
    a, b = torch.randn(size, size), torch.randn(size, size)
    out = torch.empty(size, size)
    torch.mm(a, b, out=out)
    times = []
    for _ in range(reps):
        start = time.perf_counter()
        torch.mm(a, b, out=out)
        times.append(time.perf_counter() - start)
    return 2 * size**3 / statistics.median(times) / 1e9


# Ops that only make a new view: no bytes move.
VIEWS = {"aten::view", "aten::transpose", "aten::t", "aten::reshape", "aten::_reshape_alias", "aten::as_strided",
         "aten::expand", "aten::permute", "aten::unsqueeze", "aten::squeeze", "aten::select", "aten::slice",
         "aten::detach", "aten::alias", "aten::flatten", "aten::unflatten", "aten::unbind", "aten::split",
         "aten::chunk", "aten::narrow", "aten::expand_as", "aten::view_as", "aten::empty", "aten::empty_like",
         "aten::empty_strided", "aten::resize_", "aten::lift_fresh", "aten::zeros", "aten::to"}


def anatomy(step) -> dict:
    """One profiled step: ms of compute-bound ops, ms and estimated MB of the rest, op count."""
    step()
    with torch.profiler.profile(activities=[torch.profiler.ProfilerActivity.CPU], record_shapes=True) as prof:
        step()
    compute_ms = rest_ms = rest_bytes = 0.0
    ops = 0
    for e in prof.events():
        ms = e.self_cpu_time_total / 1e3
        if e.name in COMPUTE:
            compute_ms += ms
            continue
        if ms <= 0:
            continue
        rest_ms += ms
        # Bytes only for leaf aten ops (a composite's children count them) that move data.
        leaf = not any(c.name.startswith("aten::") for c in e.cpu_children)
        sizes = [_numel(s) for s in (e.input_shapes or []) if s]
        if not e.name.startswith("aten::") or e.name in VIEWS or not leaf or not sizes:
            continue
        ops += 1
        rest_bytes += 4 * (sum(sizes) + max(sizes))
    return {"compute_ms": compute_ms, "rest_ms": rest_ms, "rest_mb": rest_bytes / 1e6, "rest_ops": ops}


def _numel(shape) -> int:
    """Elements of one recorded input shape (of every tensor, for a tensor-list input)."""
    if shape and isinstance(shape[0], (list, tuple)):
        return sum(_numel(s) for s in shape)
    n = 1
    for d in shape:
        n *= d
    return n


def roofline(name: str, args) -> dict:
    spec = spachc.load(name, overrides=["drop_path=0"])
    torch.manual_seed(0)
    model = spachc.build(spec)
    randomise(model, 0)
    ref = reference_from_spachc(spec, model)
    images = torch.randn(args.batch, 3, 224, 224, generator=torch.Generator().manual_seed(0))
    labels = torch.randint(0, spec.classes, (args.batch,), generator=torch.Generator().manual_seed(0))
    if args.mode == "train":
        steps = {"reference": train_step(ref, images, labels),
                 "spachc": train_step(model, images, labels, fused=fused_adamw(torch.device("cpu"), model))}
    else:
        steps = {"reference": eval_step(ref, images), "spachc": eval_step(model, images)}
    flop = (3 if args.mode == "train" else 1) * 2 * spachc.summary(spec).macs * args.batch
    row = {"model": name, "mode": args.mode, "gflop": flop / 1e9, "load_1min": os.getloadavg()[0]}
    for impl, step in steps.items():
        gemm_roof, copy_roof = matmul_rate(), copy_rate()
        a = anatomy(step)
        gemm_roof, copy_roof = (gemm_roof + matmul_rate()) / 2, (copy_roof + copy_rate()) / 2
        total = a["compute_ms"] + a["rest_ms"]
        at_roof = a["rest_mb"] / 1e3 / copy_roof * 1e3  # ms the rest would take at the copy rate
        row[impl] = {**a, "total_ms": total, "compute_share": a["compute_ms"] / total,
                     "compute_gflops": flop / 1e9 / (a["compute_ms"] / 1e3), "matmul_gflops": gemm_roof,
                     "rest_gbs": a["rest_mb"] / 1e3 / (a["rest_ms"] / 1e3), "copy_gbs": copy_roof,
                     "rest_at_copy_rate_ms": at_roof}
    ours, theirs = row["spachc"], row["reference"]
    row["speedup_profiled"] = theirs["total_ms"] / ours["total_ms"]
    row["speedup_if_rest_at_copy_rate"] = theirs["total_ms"] / (ours["compute_ms"] + ours["rest_at_copy_rate_ms"])
    row["speedup_if_rest_vanished"] = theirs["total_ms"] / ours["compute_ms"]
    for impl in ("reference", "spachc"):
        r = row[impl]
        print(f"{name:13s} {args.mode:5s} {impl:9s} step {r['total_ms']:7.0f} ms: compute {r['compute_ms']:6.0f} ms "
              f"({100 * r['compute_share']:.0f}%, {r['compute_gflops']:.0f} GFLOP/s = "
              f"{100 * r['compute_gflops'] / r['matmul_gflops']:.0f}% of matmul {r['matmul_gflops']:.0f}); "
              f"rest {r['rest_ms']:6.0f} ms over {r['rest_ops']} ops, ~{r['rest_mb']:.0f} MB = "
              f"{r['rest_gbs']:.1f} GB/s ({100 * r['rest_gbs'] / r['copy_gbs']:.0f}% of copy {r['copy_gbs']:.1f} GB/s)",
              flush=True)
    print(f"{name:13s} {args.mode:5s} speedup profiled {row['speedup_profiled']:.2f}x; if spachc's rest ran at the copy rate "
          f"{row['speedup_if_rest_at_copy_rate']:.2f}x; if it vanished {row['speedup_if_rest_vanished']:.2f}x "
          f"[load {row['load_1min']:.1f}]", flush=True)
    return row


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--models", nargs="+", default=["conv_ms_xxs", "mlp_ms_xxs", "trans_ms_xxs", "hybrid_s"])
    parser.add_argument("--mode", choices=("train", "eval"), default="train")
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    rows = [roofline(name, args) for name in args.models]
    if args.json:
        args.json.write_text(json.dumps({"command": " ".join(sys.argv), "rows": rows}, indent=2) + "\n")


if __name__ == "__main__":
    main()
