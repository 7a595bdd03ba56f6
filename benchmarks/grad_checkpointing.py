"""What `set_grad_checkpointing()` saves: memory of one training step (forward, cross-entropy,
backward) with and without it, same model, same batch.

Each mode runs in its own fresh process (one mode's peak cannot hide the other's), with glibc
told to serve every allocation of 128 KiB or more by mmap (MALLOC_MMAP_THRESHOLD_), so freed
tensors leave the resident set at once and RSS follows the live tensors. Two measures:
  - activation memory: resident memory just after the forward pass (loss computed, backward
    not started) minus just before it: what is kept alive for the backward pass. This is what
    checkpointing trades for recomputation.
  - peak RSS growth of the step: the peak resident memory after the backward pass (getrusage
    ru_maxrss) minus the resident memory before the forward. It also holds the gradients, the
    backward pass's temporaries and one recomputed block's activations.
(Counting saved tensors with torch.autograd.graph.saved_tensors_hooks would not do: inside a
checkpointed block the checkpoint's own hooks take over, and the block inputs it keeps are
invisible to an outer hook.) The step time printed with them is of one step under that allocator
setting; for the cost of recomputation use `--timing N`: one process, the normal allocator,
the same model switched on and off, N alternating rounds, medians (read as a ratio).

    OMP_WAIT_POLICY=PASSIVE .venv/bin/python benchmarks/grad_checkpointing.py hybrid_xs --batch 32 --size 224
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import time

MODES = ("plain", "checkpointed")


def rss_bytes() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * resource.getpagesize()


def one_step(model_name: str, batch: int, size: int | None, mode: str, threads: int) -> dict:
    import torch
    import torch.nn.functional as F

    import spachc

    torch.set_num_threads(threads)
    spec = spachc.load(model_name, overrides=[f"input={size}"] if size else [])
    torch.manual_seed(0)
    model = spachc.build(spec).train()
    model.set_grad_checkpointing(mode == "checkpointed")
    images = torch.randn(batch, spec.channels, *spec.input)
    labels = torch.randint(0, spec.classes, (batch,))
    # Warm up on one image (lazy imports, kernel caches); its peak stays below the real step's.
    F.cross_entropy(model(images[:1]), labels[:1]).backward()
    model.zero_grad(set_to_none=True)
    gc.collect()
    before = rss_bytes()
    start = time.perf_counter()
    loss = F.cross_entropy(model(images), labels)
    kept = rss_bytes() - before  # alive for the backward pass
    loss.backward()
    seconds = time.perf_counter() - start
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # KiB on Linux
    params = sum(p.numel() for p in model.parameters())
    return {"mode": mode, "activation_bytes": kept, "peak_rss_growth": peak - before, "seconds": seconds,
            "params": params, "input": list(spec.input), "batch": batch, "torch": torch.__version__}


def timing(args) -> None:
    import torch
    import torch.nn.functional as F

    import spachc

    torch.set_num_threads(args.threads)
    spec = spachc.load(args.model, overrides=[f"input={args.size}"] if args.size else [])
    torch.manual_seed(0)
    model = spachc.build(spec).train()
    images = torch.randn(args.batch, spec.channels, *spec.input)
    labels = torch.randint(0, spec.classes, (args.batch,))
    seconds = {m: [] for m in MODES}
    for r in range(args.timing + 1):  # round 0 warms up both modes and is not counted
        for mode in (MODES if r % 2 == 0 else MODES[::-1]):
            model.set_grad_checkpointing(mode == "checkpointed")
            model.zero_grad(set_to_none=True)
            start = time.perf_counter()
            F.cross_entropy(model(images), labels).backward()
            if r:
                seconds[mode].append(time.perf_counter() - start)
    med = {m: statistics.median(v) for m, v in seconds.items()}
    print(f"{args.model} at {spec.input[0]}x{spec.input[1]}, batch {args.batch}, {args.threads} threads, {cpu_name()}, "
          f"load average {open('/proc/loadavg').read().split()[0]}")
    print(f"step time, median of {args.timing}: plain {med['plain']:.2f} s, checkpointed {med['checkpointed']:.2f} s, "
          f"ratio x{med['checkpointed'] / med['plain']:.2f}")


def cpu_name() -> str:
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("model")
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--size", type=int, default=None, help="input size (default: the spec's)")
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--timing", type=int, default=0, metavar="N",
                        help="time N alternating rounds in one process instead of measuring memory")
    parser.add_argument("--child", choices=MODES, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(one_step(args.model, args.batch, args.size, args.child, args.threads)))
        return
    if args.timing:
        timing(args)
        return
    results = {m: [] for m in MODES}
    for r in range(args.rounds):
        for mode in (MODES if r % 2 == 0 else MODES[::-1]):
            cmd = [sys.executable, __file__, args.model, "--batch", str(args.batch), "--threads", str(args.threads),
                   "--child", mode] + (["--size", str(args.size)] if args.size else [])
            env = {**os.environ, "MALLOC_MMAP_THRESHOLD_": str(128 * 1024)}
            out = subprocess.run(cmd, check=True, capture_output=True, text=True, env=env).stdout
            results[mode].append(json.loads(out.strip().splitlines()[-1]))
    first = results["plain"][0]
    print(f"{args.model} at {first['input'][0]}x{first['input'][1]}, batch {args.batch}, "
          f"{first['params'] / 1e6:.1f}M params, torch {first['torch']}, {args.threads} threads, {cpu_name()}, "
          f"load average {open('/proc/loadavg').read().split()[0]}")
    med = {m: {k: statistics.median(r[k] for r in results[m]) for k in ("activation_bytes", "peak_rss_growth", "seconds")}
           for m in MODES}
    gib = 2 ** 30
    print(f"{'':14}{'activation memory':>20}{'peak RSS growth':>18}{'step s':>9}")
    for m in MODES:
        print(f"{m:14}{med[m]['activation_bytes'] / gib:>16.2f} GiB{med[m]['peak_rss_growth'] / gib:>14.2f} GiB"
              f"{med[m]['seconds']:>9.1f}")
    p, c = med["plain"], med["checkpointed"]
    print(f"checkpointing: activation memory {100 * (c['activation_bytes'] / p['activation_bytes'] - 1):+.0f}%, "
          f"peak RSS growth {100 * (c['peak_rss_growth'] / p['peak_rss_growth'] - 1):+.0f}%, "
          f"step time x{c['seconds'] / p['seconds']:.2f} (medians of {args.rounds} round(s))")


if __name__ == "__main__":
    main()
