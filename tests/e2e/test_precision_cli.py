"""bf16 inference with weights stored in bf16 (spachc/runtime/precision.py) on a model trained here,
the precision `eval` and `bench` report, and bf16 autocast training following the fp32 loss
curve (the `auto` rules are tests/unit/test_precision.py)."""

from __future__ import annotations

import copy
import json

import torch
from support.cli import run_cli
from support.trained_digits import trained_digits  # noqa: F401  (a fixture)

from spachc.nn.precision import LowPrecisionNet, for_inference

TOP1_AGREEMENT = 0.995  # bf16 must pick the fp32 class for at least 99.5% of validation images
MAX_REL_LOGIT_ERROR = 0.05  # per image: |logits_bf16 - logits_fp32| / |logits_fp32|


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
    assert rel.max().item() <= MAX_REL_LOGIT_ERROR, rel.max().item()
    assert rel.max().item() > 0  # bf16 really ran: it cannot be bit-identical to fp32
    # bf16 rounds differently by CPU (AMX, AVX-512 bf16, emulation), so which images flip is not
    # fixed; but an image can only flip if its fp32 top-1 margin is below twice this run's max
    # |Δlogit|. Every disagreement must be such an image, and a trained model has few of them.
    error = (logits - reference).abs().max().item()
    top2 = reference.topk(2, dim=1).values
    fragile = (top2[:, 0] - top2[:, 1]) < 2 * error
    flipped = logits.argmax(1) != reference.argmax(1)
    assert not (flipped & ~fragile).any()
    assert fragile.float().mean().item() <= 1 - TOP1_AGREEMENT + 0.02, fragile.float().mean().item()
    # fp32 stays the very same module (exact).
    same, used = for_inference(model, "fp32")
    assert used == "fp32" and same is model


def test_eval_and_bench_report_the_precision_they_used(trained_digits, tmp_path):  # noqa: F811
    spec, model, _, _, spec_path = trained_digits
    weights = tmp_path / "digits.safetensors"
    from spachc.model_io.tensors import save_weights

    save_weights(model, spec, weights)
    results = {}
    for dtype in ("fp32", "bf16"):
        proc = run_cli("eval", str(weights), "--weights", str(weights), "--data", "digits", "--device", "cpu",
                       "--workers", "0", "--json", "--dtype", dtype)
        assert proc.returncode == 0, proc.stderr
        results[dtype] = json.loads(proc.stdout)
    assert results["fp32"]["precision"] == "fp32" and results["bf16"]["precision"] == "bf16"
    assert results["fp32"]["images"] == results["bf16"]["images"] == 355
    # Another precision may flip a few images, a number that varies by CPU: the tolerance is the
    # disagreements a 0.5% rate gives in 95% of draws of 355 images (the int8 gate's rule), not one image.
    from spachc.export.int8 import allowed_disagreements

    tolerance = 100 * allowed_disagreements(355, TOP1_AGREEMENT) / 355
    assert abs(results["fp32"]["top1"] - results["bf16"]["top1"]) <= tolerance
    proc = run_cli("bench", str(weights), "--dtype", "bf16", "--steps", "1", "--warmup", "0", "--threads", "1",
                   "--json")
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["precision"] == "bf16"
    proc = run_cli("eval", str(weights), "--weights", str(weights), "--dtype", "fp16")
    assert proc.returncode == 1 and "error[E1016]: eval cannot run --dtype fp16 here: it takes fp32, bf16 or auto" \
        in proc.stderr


def test_bf16_autocast_training_follows_the_fp32_loss_curve(tmp_path):
    """Two epochs on the digits, same seed, fp32 vs bf16 autocast: the per-epoch losses and
    accuracies stay close (measured: losses within 1e-3, top-1 within 0.3 points)."""
    from support.trained_digits import SPEC_TEXT

    spec = tmp_path / "digits_lowp.spach"
    spec.write_text(SPEC_TEXT)
    curves = {}
    for amp in ("off", "bf16"):
        out = tmp_path / amp
        proc = run_cli("train", str(spec), "--data", "digits", "--recipe", "quick", "--epochs", "2",
                       "--batch-size", "64", "--lr", "3e-3", "--warmup-epochs", "1", "--workers", "0",
                       "--device", "cpu", "--amp", amp, "--out", str(out), "--log-every", "1000")
        assert proc.returncode == 0, proc.stderr
        assert json.loads((out / "run.json").read_text())["amp"] == {"off": "off", "bf16": "bfloat16"}[amp]
        curves[amp] = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]
    assert len(curves["off"]) == len(curves["bf16"]) == 2
    for fp32, bf16 in zip(curves["off"], curves["bf16"]):
        assert fp32["train_loss"] != bf16["train_loss"]  # bf16 really ran
        assert abs(fp32["train_loss"] - bf16["train_loss"]) <= 0.02
        assert abs(fp32["val_loss"] - bf16["val_loss"]) <= 0.02
        assert abs(fp32["val_top1"] - bf16["val_top1"]) <= 2.0
