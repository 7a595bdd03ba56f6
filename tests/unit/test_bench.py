"""`spachc bench`: the documented JSON fields, consistent with each other and with the spec's
own counts. No timing thresholds: only plausibility (positive, finite, self-consistent)."""

from __future__ import annotations
import torch


def test_matmul_rate_is_measured_from_a_real_product():
    from spachc.runtime.bench import matmul_rate

    gflops, size = matmul_rate(torch.device("cpu"), size=256, reps=3)
    assert size == 256 and 0 < gflops < 1e5
