"""Where a step's device time goes: torch.profiler over a few steps timed like `spachc bench`.

    python3 benchmarks/profile_step.py --device cuda --mode train --amp bf16 --compile --batch 128
    python3 benchmarks/profile_step.py --device cpu --set dim=16 --set input=32 --batch 2 --steps 1

Prints the kernels with the most device time and the time per kind of kernel (matmul,
attention, convolution, fused elementwise/norm, copies, optimizer), so that a step's MFU can
be read against what it spends outside the GEMMs. With --json, writes the same figures.
"""

from __future__ import annotations

import argparse
import json
import re
from pathlib import Path

import torch

import spachc
from spachc.runtime.bench import _compiled, _infer_step, _train_step, resolve_device, synchronize

# First match wins; names are CUDA kernel names (or aten op names on CPU).
CATEGORIES = [
    ("attention", r"flash|fmha|attention|sdpa|efficient_attention"),
    ("matmul", r"gemm|sm90_xmma|cutlass|cublas|nvjet|ampere_.*s16816|addmm|aten::mm|bmm|baddbmm|matmul|linear"),
    ("convolution", r"conv|cudnn|depthwise|implicit|winograd|dgrad|wgrad|fprop"),
    ("optimizer", r"adam|foreach|multi_tensor"),
    ("copy", r"copy|transpose|memcpy|memset|cat"),
    ("fused (triton)", r"triton"),
]

# The ops that move bytes without computing: counted per step, with the bytes they write, so a
# layout change shows up as fewer copies even where their time is lost in noise. A `contiguous`,
# `clone` or `reshape` that has to copy ends in `aten::copy_`, which is where the bytes are read.
COPY_OPS = ("aten::copy_", "aten::clone", "aten::contiguous", "aten::_to_copy", "aten::cat")


# A GEMM with a bias starts from the bias broadcast into its output: a write of its first
# value, not a change of layout (counted under aten::copy_, left out of "activation copies").
GEMM_BIAS = ("aten::addmm", "aten::baddbmm")


def copy_counts(prof, steps: int, batch: int) -> dict[str, dict[str, float]]:
    """Calls and MB written per step for each op of COPY_OPS (the profile must record shapes),
    and "activation copies": the aten::copy_ calls that move a batch-sized tensor (leading
    dimension = batch) other than a GEMM's bias broadcast, i.e. the layout copies."""
    counts = {op: {"calls": 0.0, "mb": 0.0} for op in (*COPY_OPS, "activation copies")}
    for event in prof.events():
        if event.name not in COPY_OPS:
            continue
        shape = event.input_shapes[0] if event.input_shapes and event.input_shapes[0] else []
        elements = 1
        for n in shape:
            elements *= n
        kinds = [event.name]
        if (event.name == "aten::copy_" and shape and shape[0] == batch
                and not (event.cpu_parent is not None and event.cpu_parent.name in GEMM_BIAS)):
            kinds.append("activation copies")
        for kind in kinds:
            counts[kind]["calls"] += 1 / steps
            counts[kind]["mb"] += 4 * elements / 1e6 / steps  # fp32 elements
    return counts


def category(name: str) -> str:
    lowered = name.lower()
    for label, pattern in CATEGORIES:
        if re.search(pattern, lowered):
            return label
    return "other"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", default="hybrid_s")
    parser.add_argument("--set", dest="overrides", action="append", default=[])
    parser.add_argument("--device", default="auto", choices=("auto", "cpu", "cuda"))
    parser.add_argument("--mode", default="train", choices=("infer", "train"))
    parser.add_argument("--amp", default="bf16", choices=("off", "bf16", "fp16"))
    parser.add_argument("--compile", action="store_true")
    parser.add_argument("--batch", type=int, default=128)
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--steps", type=int, default=3)
    parser.add_argument("--top", type=int, default=15)
    parser.add_argument("--json", type=Path)
    parser.add_argument("--threads", type=int, help="torch threads (CPU)")
    parser.add_argument("--plain-grad", action="store_true",
                        help="CPU fp32 training: the plain aten linears, not the fused ones (spachc/nn/fused_grad.py)")
    args = parser.parse_args()
    if args.plain_grad:
        from spachc.nn import fused

        fused.GRAD_KERNELS = False

    if args.threads:
        torch.set_num_threads(args.threads)
    device = resolve_device(args.device)
    if device.type == "cuda":
        torch.backends.cudnn.benchmark = True
    spec = spachc.load(args.model, overrides=args.overrides)
    torch.manual_seed(0)
    model = spachc.build(spec, device=device)
    model.train(args.mode == "train")
    runner = _compiled(model, device, args.mode) if args.compile else model
    images = torch.randn(args.batch, spec.channels, *spec.input, device=device)
    labels = torch.randint(0, spec.classes, (args.batch,), device=device)
    step = (_train_step(runner, images, labels, device, args.amp) if args.mode == "train"
            else _infer_step(runner, images, device, args.amp))
    for _ in range(args.warmup):
        step()
    synchronize(device)

    activities = [torch.profiler.ProfilerActivity.CPU]
    if device.type == "cuda":
        activities.append(torch.profiler.ProfilerActivity.CUDA)
    with torch.profiler.profile(activities=activities, record_shapes=True) as prof:
        for _ in range(args.steps):
            step()
        synchronize(device)

    on_device = device.type == "cuda"
    rows = []
    for event in prof.key_averages():
        us = event.self_device_time_total if on_device else event.self_cpu_time_total
        if us > 0 and (not on_device or event.device_type == torch.autograd.DeviceType.CUDA):
            rows.append((event.key, us / args.steps / 1e3, event.count // args.steps))
    total = sum(ms for _, ms, _ in rows)
    by_category: dict[str, float] = {}
    for name, ms, _ in rows:
        by_category[category(name)] = by_category.get(category(name), 0.0) + ms
    print(f"{spec.name} {args.mode} batch {args.batch} amp {args.amp} compile {args.compile} "
          f"{'plain linears ' if args.plain_grad else ''}on {device}: "
          f"{total:.2f} ms of {'device' if on_device else 'CPU op'} time per step")
    for label, ms in sorted(by_category.items(), key=lambda kv: -kv[1]):
        print(f"  {label:16s} {ms:8.2f} ms  {100 * ms / max(total, 1e-9):5.1f}%")
    print(f"top {args.top} kernels (ms per step, calls per step):")
    for name, ms, calls in sorted(rows, key=lambda r: -r[1])[:args.top]:
        print(f"  {ms:8.3f} ms {calls:5d}x  [{category(name)}] {name[:110]}")
    copies = copy_counts(prof, args.steps, args.batch)
    print("copy ops per step (calls, MB written; fp32 sizes): " + ", ".join(
        f"{op} {c['calls']:.0f} ({c['mb']:.1f} MB)" for op, c in copies.items()))
    if args.json:
        args.json.write_text(json.dumps({"spec": spec.name, "mode": args.mode, "batch": args.batch, "amp": args.amp,
                                         "compile": args.compile, "plain_grad": args.plain_grad, "device": str(device),
                                         "total_ms": total,
                                         "by_category_ms": by_category, "copies_per_step": copies,
                                         "top": sorted(rows, key=lambda r: -r[1])[:args.top]}, indent=2) + "\n")


if __name__ == "__main__":
    main()
