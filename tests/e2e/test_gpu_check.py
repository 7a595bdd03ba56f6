"""benchmarks/gpu_check.sh --dry-run: every section of the GPU check runs here on CPU, tiny.

What the GPU run adds is the GPU itself; this run proves the script, its sections and the
files it returns (the device gives back at most 8 files of at most 16 MiB), and runs the
CUDA-marked tests (tests/e2e/test_cuda.py) on CPU, where they are otherwise skipped.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
from support.exporting import SPECS
from support.paths import REPO

pytestmark = pytest.mark.slow

SECTIONS = ["env", "pytest", "bench_train", "bench_infer", "reference", "digits_train", "digits_eval",
            "digits_export", "digits_predict", "profile"]  # then the summary, which writes summary.json
RETURNED = {"summary.json", "log.txt", "pytest.txt", "bench.jsonl", "reference.json", "digits.json", "curves.png"}
CUDA_TESTS = 3 * len(SPECS) + 2  # every block kind in fp32, bf16 and fp64 (gradients), the torchrun run, the export


def has_predict() -> bool:
    proc = subprocess.run([sys.executable, "-m", "spachc", "predict", "--help"], capture_output=True, cwd=REPO)
    return proc.returncode == 0


def test_dry_run_runs_every_section_on_cpu(tmp_path):
    out = tmp_path / "out"
    env = {**os.environ, "PYTHON": sys.executable}
    env.pop("SPACHC_TEST_DEVICE", None)
    proc = subprocess.run(["bash", "benchmarks/gpu_check.sh", "--dry-run", str(out)], capture_output=True,
                          text=True, timeout=600, env=env, cwd=REPO)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]

    files = {p.name: p for p in out.iterdir()}
    assert set(files) == RETURNED and len(files) <= 8
    assert all(p.is_file() and p.stat().st_size < 16 * 2**20 for p in files.values())

    summary = json.loads(files["summary.json"].read_text())
    status = {s["name"]: s["status"] for s in summary["sections"]}
    assert list(status) == SECTIONS
    expected = {name: "ok" for name in SECTIONS}
    if not has_predict():
        expected["digits_predict"] = "absent"
    assert status == expected, summary["sections"]
    assert summary["all_ok"] is True

    # The CUDA-marked tests ran, on CPU, none skipped.
    assert summary["pytest"] == {"passed": CUDA_TESTS}
    assert summary["env"]["torch"].split("+")[0] == __import__("torch").__version__.split("+")[0]

    bench = [json.loads(line) for line in files["bench.jsonl"].read_text().splitlines()]
    assert [(b["spec"], b["device"], b["results"][0]["mode"], b["batch_size"], b["amp"]) for b in bench] == [
        ("hybrid_s", "cpu", "train", 2, "bf16"), ("hybrid_s", "cpu", "infer", 4, "bf16")]
    assert summary["targets"]["train_mfu"] == bench[0]["results"][0]["matmul_share"]

    reference = json.loads(files["reference.json"].read_text())
    assert reference["fp32_rel_err"] <= 1e-5
    assert [(r["amp"], r["mode"], r["batch"]) for r in reference["runs"]] == [("bf16", "infer", 4), ("bf16", "train", 2)]
    ratio = reference["runs"][0]["results"]["reference"]["ms_per_step"] / bench[1]["results"][0]["ms_per_step"]
    assert summary["bench_vs_reference"]["infer_vs_reference_bf16"] == pytest.approx(ratio)

    digits = json.loads(files["digits.json"].read_text())
    assert [m["epoch"] for m in digits["metrics"]] == [1]
    assert digits["eval"]["images"] == 355 and digits["eval"]["top1"] > 20.0  # learned: chance is 10%
    assert digits["exported"] == ["digits.onnx", "digits.safetensors"]
    assert files["curves.png"].read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert summary["profile"]["mode"] == "train" and summary["profile"]["total_ms"] > 0
    log = files["log.txt"].read_text()
    assert "=== [summary] ok" in log and "gpu_check done" in log
