"""`spachc eval` with an official .pth of the paper's code, and its error messages."""

from __future__ import annotations

import json

import pytest
import torch
from safetensors.torch import load_file
from support.cli import run_cli
from support.paths import FIXTURES

SPEC = str(FIXTURES / "ms_hybrid_small.spach")  # input 32, 10 classes, 3 channels: fits digits


@pytest.fixture(scope="module")
def official(tmp_path_factory):
    """The reference state_dict (reference key layout) as the paper's code saves it."""
    folder = tmp_path_factory.mktemp("official")
    state = load_file(FIXTURES / "ms_hybrid_small.upstream.safetensors")
    path = folder / "checkpoint.pth"
    ema = {k: v * 0.5 if v.is_floating_point() else v for k, v in state.items()}
    torch.save({"model": state, "model_ema": ema, "epoch": 299}, path)
    return path


def evaluate(*args: str) -> dict:
    proc = run_cli("eval", SPEC, "--data", "digits", "--device", "cpu", "--json", "--workers", "0", *args)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


def test_official_pth_evaluates_like_its_imported_safetensors(official, tmp_path):
    converted = tmp_path / "converted.safetensors"
    proc = run_cli("import-upstream", SPEC, str(official), "-o", str(converted))
    assert proc.returncode == 0, proc.stderr
    from_pth = evaluate("--weights", str(official))
    from_safetensors = evaluate("--weights", str(converted))
    assert from_pth["images"] == 355
    for key in ("top1", "top5", "loss"):
        assert from_pth[key] == from_safetensors[key]
    ema = evaluate("--weights", str(official), "--ema")
    assert ema["loss"] != from_pth["loss"]  # the halved EMA weights are another network


@pytest.mark.parametrize("make, message", [
    (lambda p: p.write_bytes(b"not a checkpoint"), "bad.pth: "),
    (lambda p: torch.save({"model": {"blocks.0.weight": torch.zeros(2)}}, p), "blocks.0.weight"),
])
def test_bad_weights_get_one_clear_message(make, message, tmp_path):
    path = tmp_path / "bad.pth"
    make(path)
    proc = run_cli("eval", SPEC, "--weights", str(path), "--data", "digits", "--device", "cpu")
    assert proc.returncode == 1 and message in proc.stderr and "Traceback" not in proc.stderr


def test_weights_of_another_spec_are_refused(tmp_path):
    other = tmp_path / "other.safetensors"
    assert run_cli("build", "trans_ms_xxs", "--set", "classes=10", "--set", "input=32", "-o", str(other)).returncode == 0
    proc = run_cli("eval", SPEC, "--weights", str(other), "--data", "digits", "--device", "cpu")
    assert proc.returncode == 1 and "error[E1013]" in proc.stderr and "not of 'ms_hybrid_small'" in proc.stderr
