"""bf16 inference with weights stored in bf16 (spachc/nn/precision.py) and the `auto` rule."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest
import torch

from conftest import run_cli
from spachc.nn.precision import LowPrecisionNet, for_inference
from spachc.precision import PrecisionError, resolve_precision
from trained_digits import trained_digits  # noqa: F401  (a fixture)

TOP1_AGREEMENT = 0.995  # bf16 must pick the fp32 class for at least 99.5% of validation images
MAX_REL_LOGIT_ERROR = 0.05  # per image: |logits_bf16 - logits_fp32| / |logits_fp32|


def _flags() -> set[str]:
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("flags"):
            return set(line.split(":")[1].split())
    return set()


def test_auto_picks_bf16_exactly_where_the_cpu_has_bf16_hardware():
    hardware = bool(_flags() & {"amx_bf16", "avx512_bf16"})
    assert resolve_precision("auto", "cpu") == ("bf16" if hardware else "fp32")
    assert resolve_precision("fp32", "cpu") == "fp32" and resolve_precision("bf16", "cpu") == "bf16"
    with pytest.raises(PrecisionError, match="unknown precision 'fp16'"):
        resolve_precision("fp16")


def test_bf16_stores_weights_in_bf16_and_agrees_with_fp32(trained_digits):  # noqa: F811
    spec, model, images, labels, _ = trained_digits
    with torch.inference_mode():
        reference = model(images)
    assert (reference.argmax(1) == labels).float().mean() > 0.9  # a trained model: confident logits
    low, used = for_inference(copy.deepcopy(model), "bf16")
    assert used == "bf16" and isinstance(low, LowPrecisionNet)
    dtypes = {name: p.dtype for name, p in low.net.named_parameters()}
    assert {d for n, d in dtypes.items() if n.startswith(("head.", "head_norm."))} == {torch.float32}
    assert {d for n, d in dtypes.items() if not n.startswith(("head.", "head_norm."))} == {torch.bfloat16}
    with torch.inference_mode():
        logits = low(images)
    assert logits.dtype == torch.float32 and logits.shape == reference.shape
    rel = (logits - reference).norm(dim=1) / reference.norm(dim=1)
    agreement = (logits.argmax(1) == reference.argmax(1)).float().mean().item()
    assert rel.max().item() <= MAX_REL_LOGIT_ERROR, rel.max().item()
    assert rel.max().item() > 0  # bf16 really ran: it cannot be bit-identical to fp32
    assert agreement >= TOP1_AGREEMENT, agreement
    # fp32 stays the very same module (exact).
    same, used = for_inference(model, "fp32")
    assert used == "fp32" and same is model


def test_eval_and_bench_report_the_precision_they_used(trained_digits, tmp_path):  # noqa: F811
    spec, model, _, _, spec_path = trained_digits
    weights = tmp_path / "digits.safetensors"
    from spachc.nn.weights import save_weights

    save_weights(model, spec, weights)
    results = {}
    for dtype in ("fp32", "bf16"):
        proc = run_cli("eval", str(weights), "--weights", str(weights), "--data", "digits", "--device", "cpu",
                       "--workers", "0", "--json", "--dtype", dtype)
        assert proc.returncode == 0, proc.stderr
        results[dtype] = json.loads(proc.stdout)
    assert results["fp32"]["precision"] == "fp32" and results["bf16"]["precision"] == "bf16"
    assert results["fp32"]["images"] == results["bf16"]["images"] == 355
    assert abs(results["fp32"]["top1"] - results["bf16"]["top1"]) <= 100 * (1 - TOP1_AGREEMENT)
    proc = run_cli("bench", str(weights), "--dtype", "bf16", "--steps", "1", "--warmup", "0", "--threads", "1",
                   "--json")
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["precision"] == "bf16"
    proc = run_cli("eval", str(weights), "--weights", str(weights), "--dtype", "fp16")
    assert proc.returncode == 1 and "error[E1016]: --dtype 'fp16' is not one of: fp32, bf16, auto" in proc.stderr
