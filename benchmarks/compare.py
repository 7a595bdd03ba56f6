"""The paper-style reference implementation against spachc, on the same weights, in one run.

    .venv/bin/python benchmarks/compare.py                      # CPU, 2 threads, batch 8, 224², 4 models
    .venv/bin/python benchmarks/compare.py --models hybrid_s --modes eval --reps 3 --json out.json

For each model: build spachc's module, give it random weights (every weight matters: random
head, layer scale, biases and norms), copy the same tensors into the reference
(`tests/support/reference_spach.py`, the paper's key layout), and check that both compute the same
function (fp32 relative error ≤ 1e-5, eval and train mode) before any timing. Then time the
two implementations alternately (A B, then B A, ...) after warming both up, and report the
median of the repetitions and the ratio reference/spachc (> 1: spachc is faster).

Drop path is set to 0 so that train mode computes one deterministic function in both (stochastic
depth costs the same small elementwise mask in both implementations). The training step is each
side's own: spachc's AdamW is the fused kernel `spachc train` uses (spachc.train.optimizer.fused_adamw),
the reference's torch's default, op by op on CPU (`--same-optimizer`: op by op for both). With
`--compile`, the compiled step's compilation time and its break-even step count are printed.
`--plain-grad` also times spachc's training step with its linears on aten's plain ops (the
bias copied into the output, the residual added after the GEMM) instead of the fused oneDNN
linears with a backward (spachc/nn/fused_grad.py): same weights, same function.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import statistics
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

import torch
import torch.nn.functional as F

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests"))

import spachc  # noqa: E402
from support.reference_spach import reference_from_spachc  # noqa: E402
from spachc.runtime.bench import device_name, matmul_rate  # noqa: E402
from spachc.train.optimizer import fused_adamw  # noqa: E402

MODELS = ("conv_ms_xxs", "mlp_ms_xxs", "trans_ms_xxs", "hybrid_s")
TOLERANCE = 1e-5


def randomise(model: torch.nn.Module, seed: int) -> None:
    """Keep the trained-like scale of the reference init, but make every tensor non-trivial."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in model.named_parameters():
            noise = torch.randn(p.shape, generator=g)
            if name.endswith("layer_scale"):
                p.copy_(0.1 * noise)
            elif p.ndim == 1:  # biases and norm affine parameters
                p.add_(0.02 * noise)
            elif name.startswith("head."):
                p.copy_(0.02 * noise)
            else:
                p.mul_(1 + 0.1 * noise)


def rel_err(a: torch.Tensor, b: torch.Tensor) -> float:
    return ((a - b).abs().max() / b.abs().max()).item()


def check_same_function(model, ref, images) -> dict:
    """Both modes, before timing; raises if either differs beyond the tolerance."""
    errors = {}
    with torch.no_grad():
        for mode in ("eval", "train"):
            model.train(mode == "train")
            ref.train(mode == "train")
            errors[mode] = rel_err(model(images), ref(images))
            if not errors[mode] <= TOLERANCE:
                raise SystemExit(f"outputs differ in {mode} mode: relative error {errors[mode]:.2e} > {TOLERANCE}")
    return errors


def before_layout(model: torch.nn.Module) -> torch.nn.Module:
    """A copy of `model` with the two forwards the layout work changed restored as they were: the stem
    conv on NCHW images (its output copied to tokens, forward and backward) and q, k, v unbound
    after a heads-major permute (their gradient copied twice). Same weights, same function; the
    timing difference is the copies alone."""
    import copy
    import types

    from spachc.nn.fused import linear
    from spachc.nn.layers import PatchStem
    from spachc.nn.mixers.trans import Attention
    from spachc.nn.fused import fusable

    def stem_forward(self, images):
        return self.proj(images)

    def attention_forward(self, x, grid):
        b, n, c = x.shape
        fused = fusable(x)
        qkv = linear(x, self.qkv, fused).view(b, n, 3, self.heads, c // self.heads)
        q, k, v = qkv.permute(2, 0, 3, 1, 4).unbind(0)
        out = F.scaled_dot_product_attention(q, k, v)
        return linear(out.transpose(1, 2).reshape(b, n, c), self.proj, fused)

    before = copy.deepcopy(model)
    for module in before.modules():
        if isinstance(module, PatchStem):
            module.forward = types.MethodType(stem_forward, module)
        elif isinstance(module, Attention):
            module.forward = types.MethodType(attention_forward, module)
    return before


def plain_grad(step):
    """`step` with spachc's training forward on the plain aten linears (fused.GRAD_KERNELS off)."""
    from spachc.nn import fused

    def wrapped():
        fused.GRAD_KERNELS = False
        try:
            step()
        finally:
            fused.GRAD_KERNELS = True
    return wrapped


def eval_step(model, images):
    model.eval()

    def step():
        with torch.inference_mode():
            model(images)
    return step


def train_step(model, images, labels, fused: bool = False):
    """forward, cross-entropy, backward, AdamW. `fused`: AdamW's fused kernel, as `spachc train`
    picks it (spachc.train.optimizer.fused_adamw); the reference keeps torch's default (op by op on CPU),
    what the paper's timm-based code runs."""
    model.train()
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-5, weight_decay=0.05, fused=fused or None)

    def step():
        optimizer.zero_grad(set_to_none=True)
        F.cross_entropy(model(images), labels).backward()
        optimizer.step()
    return step


def matmul_step(size: int = 1024):
    """A dense fp32 matmul timed in the same alternation, so its rate sees the same machine load."""
    a, b = torch.randn(size, size), torch.randn(size, size)
    out = torch.empty(size, size)

    def step():
        for _ in range(4):
            torch.mm(a, b, out=out)
    return step, 4 * 2 * size**3


def cpu_seconds() -> float:
    """CPU time of this process, all threads: less sensitive than wall time to other processes."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def alternate(steps: dict, reps: int, warmup: int,
              first: dict | None = None) -> tuple[dict[str, list[float]], dict[str, list[float]]]:
    """Time each step `reps` times, alternating the order every round: wall and CPU seconds.
    `first` receives the wall time of each step's first call (a compiled step: its compilation)."""
    for i in range(warmup):
        for name, step in steps.items():
            start = time.perf_counter()
            step()
            if i == 0 and first is not None:
                first[name] = time.perf_counter() - start
    times = {name: [] for name in steps}
    cpu = {name: [] for name in steps}
    names = list(steps)
    for rep in range(reps):
        for name in (names if rep % 2 == 0 else names[::-1]):
            start, start_cpu = time.perf_counter(), cpu_seconds()
            steps[name]()
            times[name].append(time.perf_counter() - start)
            cpu[name].append(cpu_seconds() - start_cpu)
    return times, cpu


def compare_model(name: str, args) -> dict:
    spec = spachc.load(name, overrides=["drop_path=0", f"input={args.size}"])
    torch.manual_seed(args.seed)
    model = spachc.build(spec)
    randomise(model, args.seed)
    ref = reference_from_spachc(spec, model)
    images = torch.randn(args.batch, 3, args.size, args.size, generator=torch.Generator().manual_seed(args.seed))
    labels = torch.randint(0, spec.classes, (args.batch,), generator=torch.Generator().manual_seed(args.seed))
    errors = check_same_function(model, ref, images)
    macs = spachc.summary(spec).macs
    row = {"model": name, "macs": macs, "rel_err": errors, "modes": {}}
    for mode in args.modes:
        impls = {"reference": ref, "spachc": model}
        if args.before_layout:
            impls["spachc_before_layout"] = before_layout(model)
            check_same_function(impls["spachc_before_layout"], model, images)
        if args.compile:
            impls["spachc_compiled"] = torch.compile(model)
        if args.plain_grad and mode == "train":
            import copy

            impls["spachc_plain_grad"] = copy.deepcopy(model)
        if mode == "eval":
            steps = {k: eval_step(m, images) for k, m in impls.items()}
        else:
            # Separate weight copies for training, so each optimizer updates its own model
            # from the same starting point.
            steps = {k: train_step(m, images, labels, fused=k != "reference" and not args.same_optimizer
                                   and fused_adamw(torch.device("cpu"), m))
                     for k, m in impls.items()}
            if "spachc_plain_grad" in steps:
                steps["spachc_plain_grad"] = plain_grad(steps["spachc_plain_grad"])
        steps["matmul"], matmul_flop = matmul_step()
        load_before = os.getloadavg()[0]
        first: dict[str, float] = {}
        times, cpu = alternate(steps, args.train_reps if mode == "train" else args.reps, max(args.warmup, 1), first)
        matmul_times = times.pop("matmul")
        cpu.pop("matmul")
        matmul_gflops = matmul_flop / statistics.median(matmul_times) / 1e9
        medians = {k: statistics.median(v) for k, v in times.items()}
        factor = 3 if mode == "train" else 1
        gflops = {k: 2 * factor * macs * args.batch / v / 1e9 for k, v in medians.items()}
        row["modes"][mode] = {
            "median_s": medians,
            "min_s": {k: min(v) for k, v in times.items()},
            "all_s": times,
            "images_per_s": {k: args.batch / v for k, v in medians.items()},
            "gflops": gflops,
            "matmul_gflops": matmul_gflops,
            "matmul_share": {k: g / matmul_gflops for k, g in gflops.items()},
            "speedup": {k: medians["reference"] / v for k, v in medians.items() if k != "reference"},
            # Robust to load that changes during the run: the ratio within each round.
            "speedup_paired_median": {k: statistics.median(r / s for r, s in zip(times["reference"], v))
                                      for k, v in times.items() if k != "reference"},
            "speedup_of_minima": {k: min(times["reference"]) / min(v) for k, v in times.items() if k != "reference"},
            "cpu_s_median": {k: statistics.median(v) for k, v in cpu.items()},
            "speedup_cpu_time": {k: statistics.median(cpu["reference"]) / statistics.median(v)
                                 for k, v in cpu.items() if k != "reference"},
            "load_average_1min": [load_before, os.getloadavg()[0]],
            "first_call_s": first,
        }
        if "spachc_compiled" in medians:
            # Compilation is the compiled step's first call less an ordinary call; it pays back
            # after compile / (eager - compiled) steps (never when compiled is not faster).
            compile_s = first["spachc_compiled"] - medians["spachc_compiled"]
            gain = medians["spachc"] - medians["spachc_compiled"]
            row["modes"][mode]["compile_s"] = compile_s
            row["modes"][mode]["break_even_steps"] = compile_s / gain if gain > 0 else None
        r = row["modes"][mode]
        print(f"{name:13s} {mode:5s} " + "  ".join(
            f"{k} {medians[k] * 1e3:8.1f} ms ({args.batch / medians[k]:6.1f} img/s, "
            f"{100 * r['matmul_share'][k]:.0f}% of matmul)" for k in medians)
            + "  speedup " + ", ".join(f"{k} {s:.2f}x (paired {r['speedup_paired_median'][k]:.2f}x, "
                                       f"minima {r['speedup_of_minima'][k]:.2f}x, cpu time {r['speedup_cpu_time'][k]:.2f}x)"
                                       for k, s in r["speedup"].items())
            + f"  [matmul {matmul_gflops:.0f} GFLOP/s, load {load_before:.1f}]", flush=True)
        if "compile_s" in r:
            even = r["break_even_steps"]
            print(f"{'':19s}compile {r['compile_s']:.0f} s, break-even "
                  + (f"after {even:,.0f} steps" if even is not None else "never (compiled is not faster)"), flush=True)
    return row


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--models", nargs="+", default=list(MODELS))
    parser.add_argument("--modes", nargs="+", choices=("eval", "train"), default=["eval", "train"])
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--size", type=int, default=224)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--reps", type=int, default=7, help="timed eval steps per implementation")
    parser.add_argument("--train-reps", type=int, default=5, help="timed train steps per implementation")
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--compile", action="store_true", help="also time torch.compile(spachc model)")
    parser.add_argument("--before-layout", action="store_true",
                        help="also time spachc with the stem and attention layouts as they were before the layout work (same weights)")
    parser.add_argument("--plain-grad", action="store_true",
                        help="train: also time spachc with plain aten linears in its training step (same weights)")
    parser.add_argument("--same-optimizer", action="store_true",
                        help="train: op-by-op AdamW for spachc too (default: the fused kernel `spachc train` uses)")
    parser.add_argument("--json", type=Path, help="write all figures here")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    matmul, size = matmul_rate(torch.device("cpu"))
    print(f"{datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC, {device_name(torch.device('cpu'))}, "
          f"torch {torch.__version__}, {torch.get_num_threads()} threads, batch {args.batch}, {args.size}², "
          f"dense fp32 matmul {matmul:.1f} GFLOP/s ({size}²)", flush=True)
    rows = [compare_model(name, args) for name in args.models]
    matmul_after, _ = matmul_rate(torch.device("cpu"))
    print(f"dense fp32 matmul after the run: {matmul_after:.1f} GFLOP/s", flush=True)
    if args.json:
        args.json.write_text(json.dumps({
            "date": datetime.now(timezone.utc).isoformat(timespec="seconds"), "machine": platform.node(),
            "cpu": device_name(torch.device("cpu")), "torch": torch.__version__, "threads": args.threads,
            "batch": args.batch, "size": args.size, "matmul_gflops": [matmul, matmul_after],
            "command": " ".join(sys.argv), "rows": rows}, indent=2))


if __name__ == "__main__":
    main()
