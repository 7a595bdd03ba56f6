"""`spachc bench`: the documented JSON fields, consistent with each other and with the spec's
own counts. No timing thresholds: only plausibility (positive, finite, self-consistent)."""

from __future__ import annotations

import json
import math

import pytest
import torch
from support.cli import run_cli

import spachc

TINY = """model tiny_hybrid
input 32
classes 10
stem patch 4
defaults heads 2 channel_ratio 2
stage conv x1 dim 16 -> down -> stage conv x1, trans x1 -> down -> stage mlp x1
"""
REPORT_FIELDS = {
    "spec", "spec_hash", "params", "macs", "input_shape", "batch_size", "device", "device_name", "threads", "precision", "amp",
    "compile", "channels_last", "warmup", "steps", "matmul_gflops", "matmul_size", "matmul_dtype", "torch_version",
    "spachc_version", "results",
}
RESULT_FIELDS = {
    "mode", "ms_per_step", "ms_per_step_min", "ms_per_step_max", "images_per_s", "gflop_per_image",
    "achieved_gflops", "matmul_share", "peak_memory_bytes", "peak_memory_kind", "step_times_ms",
}


@pytest.fixture
def tiny(tmp_path):
    path = tmp_path / "tiny_hybrid.spach"
    path.write_text(TINY)
    return path


def bench_json(*args: str) -> dict:
    proc = run_cli("bench", *args, "--json", "--threads", "1")
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


def test_bench_json_has_documented_fields_with_consistent_values(tiny):
    report = bench_json(str(tiny), "--mode", "both", "--batch-size", "4", "--steps", "3", "--warmup", "1",
                        "--device", "cpu")
    spec = spachc.load(str(tiny))
    counts = spachc.summary(spec)
    assert set(report) == REPORT_FIELDS
    assert (report["spec"], report["spec_hash"]) == ("tiny_hybrid", spec.hash)
    assert (report["params"], report["macs"]) == (counts.params, counts.macs)
    assert report["input_shape"] == [4, 3, 32, 32]
    assert (report["device"], report["threads"], report["amp"], report["steps"]) == ("cpu", 1, "off", 3)
    assert report["compile"] is False and report["channels_last"] is False
    assert report["torch_version"] == torch.__version__
    assert 0 < report["matmul_gflops"] < 1e5 and report["matmul_size"] == 1024
    assert [r["mode"] for r in report["results"]] == ["infer", "train"]
    for r in report["results"]:
        assert set(r) == RESULT_FIELDS
        times = r["step_times_ms"]
        assert len(times) == 3 and all(t > 0 and math.isfinite(t) for t in times)
        assert r["ms_per_step"] == pytest.approx(sorted(times)[1])  # the median of three
        assert r["ms_per_step_min"] == min(times) and r["ms_per_step_max"] == max(times)
        assert r["images_per_s"] == pytest.approx(4 / (r["ms_per_step"] / 1e3))
        factor = 3 if r["mode"] == "train" else 1
        assert r["gflop_per_image"] == pytest.approx(2 * factor * counts.macs / 1e9)
        assert r["achieved_gflops"] == pytest.approx(r["gflop_per_image"] * r["images_per_s"])
        assert r["matmul_share"] == pytest.approx(r["achieved_gflops"] / report["matmul_gflops"])
        assert r["peak_memory_kind"] == "cpu_rss_high_water"
        # The weights alone are params·4 bytes; a process peak below that, or above 16 GiB, is wrong.
        assert counts.params * 4 < r["peak_memory_bytes"] < 16 * 2**30


def test_bench_options_bf16_channels_last_and_weights_file(tiny, tmp_path):
    weights = tmp_path / "tiny.safetensors"
    assert run_cli("build", str(tiny), "-o", str(weights)).returncode == 0
    report = bench_json(str(weights), "--amp", "bf16", "--channels-last", "--steps", "1", "--warmup", "0",
                        "--mode", "train", "--batch-size", "2")
    assert (report["amp"], report["channels_last"], report["batch_size"]) == ("bf16", True, 2)
    assert report["results"][0]["mode"] == "train" and report["results"][0]["images_per_s"] > 0


def test_bench_table_output(tiny):
    proc = run_cli("bench", str(tiny), "--steps", "1", "--warmup", "0", "--threads", "1")
    assert proc.returncode == 0, proc.stderr
    assert "images/s" in proc.stdout and "infer" in proc.stdout and "dense matmul" in proc.stdout


@pytest.mark.parametrize("args, message", [
    (("--mode", "fast"), "--mode 'fast' is not one of: infer, train, both"),
    (("--amp", "fp8"), "--amp 'fp8' is not one of: off, bf16, fp16"),
    (("--steps", "0"), "--steps must be at least 1"),
])
def test_bench_rejects_bad_options_with_one_message(tiny, args, message):
    proc = run_cli("bench", str(tiny), *args)
    assert proc.returncode == 1
    assert message in proc.stderr and "Traceback" not in proc.stderr


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the message given where CUDA is absent")
def test_bench_cuda_without_cuda_is_a_clear_error(tiny):
    proc = run_cli("bench", str(tiny), "--device", "cuda")
    assert proc.returncode == 1
    assert "no CUDA device" in proc.stderr and "Traceback" not in proc.stderr
