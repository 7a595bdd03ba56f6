"""The matmul rate `spachc bench` reports is measured from a real product (the command itself
is tests/e2e/test_bench_cli.py)."""

from __future__ import annotations
import torch


def test_matmul_rate_is_measured_from_a_real_product():
    from spachc.runtime.bench import matmul_rate

    gflops, size = matmul_rate(torch.device("cpu"), size=256, reps=3)
    assert size == 256 and 0 < gflops < 1e5
