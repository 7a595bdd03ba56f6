"""Attention forward + backward on CPU: SDPA (the flash kernel spachc's `trans` uses) against the
materialised path of the paper's code (softmax(q·kᵀ·scale)·v through bmm), at the zoo's shapes.

    OMP_WAIT_POLICY=PASSIVE .venv/bin/python benchmarks/attention_paths.py --rounds 9

q, k, v come from one B×N×3×heads×d tensor as in spachc (qkv.unbind(2), then a transpose);
the gradient flows back into it. Alternating rounds, medians, per-round ratio; the max relative
error of each forward against float64 is printed beside it.
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch
import torch.nn.functional as F

# (tokens, head dim, heads): trans_ms_xxs stages 2-4 (heads 1), hybrid_s's trans stages (d 64).
SHAPES = ((784, 64, 1), (196, 128, 1), (49, 256, 1), (784, 64, 4), (196, 64, 8), (49, 64, 16))


def flash(q, k, v):
    return F.scaled_dot_product_attention(q, k, v)


def materialised(q, k, v):
    return torch.matmul(q * q.shape[-1] ** -0.5, k.transpose(-2, -1)).softmax(-1) @ v


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--rounds", type=int, default=9)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    paths = {"sdpa": flash, "materialised": materialised}
    for n, d, h in SHAPES:
        qkv = torch.randn(args.batch, n, 3, h, d, requires_grad=True)
        grad = torch.randn(args.batch, h, n, d)

        def split(t):
            return [x.transpose(1, 2) for x in t.unbind(2)]

        with torch.no_grad():
            exact = flash(*split(qkv.double()))
            errors = {k: ((f(*split(qkv)) - exact).abs().max() / exact.abs().max()).item() for k, f in paths.items()}

        def step(fn):
            def run():
                fn(*split(qkv)).backward(grad)
                qkv.grad = None
            return run

        steps = {k: step(f) for k, f in paths.items()}
        for s in steps.values():
            s()
        times = {k: [] for k in steps}
        for r in range(args.rounds):
            for k in (list(steps) if r % 2 == 0 else list(steps)[::-1]):
                start = time.perf_counter()
                steps[k]()
                times[k].append(time.perf_counter() - start)
        ratio = statistics.median(m / s for m, s in zip(times["materialised"], times["sdpa"]))
        print(f"N={n:4d} d={d:3d} heads={h:2d}: sdpa {statistics.median(times['sdpa']) * 1e3:7.1f} ms, "
              f"materialised {statistics.median(times['materialised']) * 1e3:7.1f} ms, materialised/sdpa {ratio:.2f}x "
              f"(rel. error vs float64: sdpa {errors['sdpa']:.1e}, materialised {errors['materialised']:.1e})", flush=True)


if __name__ == "__main__":
    main()
