"""The machine's dense matmul rate, the yardstick of `spachc bench`'s `matmul_share`.

    .venv/bin/python benchmarks/matmul.py                 # CPU, torch's default threads
    .venv/bin/python benchmarks/matmul.py --threads 2 --sizes 512 1024 2048 --dtype bf16
    .venv/bin/python benchmarks/matmul.py --device cuda --sizes 4096 8192 --dtype bf16
"""

from __future__ import annotations

import argparse

import torch

from spachc.runtime.bench import device_name, matmul_rate, resolve_device
from spachc.runtime.precision import torch_dtype


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--device", default="cpu", choices=("auto", "cpu", "cuda"))
    parser.add_argument("--dtype", default="fp32", choices=("fp32", "bf16", "fp16"))
    parser.add_argument("--sizes", type=int, nargs="+", default=[512, 1024, 2048])
    parser.add_argument("--threads", type=int)
    parser.add_argument("--reps", type=int, default=7)
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    device = resolve_device(args.device)
    dtype = torch_dtype(args.dtype)
    print(f"{device_name(device)}, {torch.get_num_threads()} threads, {args.dtype}")
    for size in args.sizes:
        gflops, _ = matmul_rate(device, dtype, size=size, reps=args.reps)
        print(f"{size:6d}²  {gflops:8.1f} GFLOP/s (median of {args.reps})")


if __name__ == "__main__":
    main()
