"""`spachc export`, `spachc build FILE.safetensors` and their errors, end to end in real processes."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from safetensors.torch import load_file
from support.cli import run_cli
from support.exporting import SPECS, input_dims, onnx_metadata, run_onnx
from support.paths import FIXTURES

import spachc


@pytest.fixture
def official_pth(tmp_path):
    """The reference model's weights as the paper's code saves them: {'model': state_dict}."""
    path = tmp_path / "official.pth"
    torch.save({"model": load_file(FIXTURES / "ms_hybrid_small.upstream.safetensors")}, path)
    return path


@pytest.mark.slow
def test_export_of_an_official_checkpoint_reproduces_the_reference_outputs(tmp_path, official_pth):
    onnx_path, st_path = tmp_path / "m.onnx", tmp_path / "m.safetensors"
    result = run_cli("export", str(FIXTURES / "ms_hybrid_small.spach"), "--weights", str(official_pth),
                     "--onnx", str(onnx_path), "--safetensors", str(st_path), "--dynamic-size")
    assert result.returncode == 0, result.stderr
    assert "weights: official checkpoint official.pth" in result.stdout
    assert "onnx.checker (full check): ok" in result.stdout
    for case in ("batch 1 @32x32", "batch 3 @32x32", "batch 1 @48x64", "batch 3 @48x64"):
        assert any(case in line and line.endswith("ok") for line in result.stdout.splitlines()), result.stdout
    assert result.stdout.count("max|Δ|") == 6

    # Outputs recorded from the paper's own code, as the independent reference.
    io = load_file(FIXTURES / "ms_hybrid_small.io.safetensors")
    np.testing.assert_allclose(run_onnx(onnx_path, io["input"]), io["output"].numpy(), atol=1e-4, rtol=0)
    with torch.no_grad():
        reloaded = spachc.load_model(st_path)(io["input"])
    torch.testing.assert_close(reloaded, io["output"], atol=1e-5, rtol=0)
    assert input_dims(onnx_path) == ["batch", 3, "height", "width"]
    assert onnx_metadata(onnx_path)["spachc.weights"] == "official checkpoint official.pth"

    built = run_cli("build", str(st_path))
    assert built.returncode == 0, built.stderr
    assert f"weights loaded from {st_path}" in built.stdout
    assert spachc.load(FIXTURES / "ms_hybrid_small.spach").hash in built.stdout

    # The exported checkpoint is itself a source: a fixed batch of 2 this time.
    again = run_cli("export", str(st_path), "--onnx", str(tmp_path / "b2.onnx"), "--batch", "2")
    assert again.returncode == 0, again.stderr
    assert "the batch is fixed at 2" in again.stdout
    assert input_dims(tmp_path / "b2.onnx") == [2, 3, 32, 32]
    np.testing.assert_allclose(run_onnx(tmp_path / "b2.onnx", io["input"][:2]), io["output"][:2].numpy(),
                               atol=1e-4, rtol=0)


def test_export_without_weights_says_it_exports_the_initialisation(tmp_path):
    spec_file = tmp_path / "t.spach"
    spec_file.write_text(SPECS["conv"])
    result = run_cli("export", str(spec_file), "--safetensors", str(tmp_path / "t.safetensors"))
    assert result.returncode == 0, result.stderr
    assert "exporting the model as initialised, not trained" in result.stdout
    assert "rebuilt from the file alone" in result.stdout
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")], "temporary files left behind"


@pytest.fixture
def other_checkpoint(tmp_path):
    from spachc.model_io.tensors import save_weights

    spec = spachc.parse(SPECS["trans"])
    path = tmp_path / "other.safetensors"
    save_weights(spachc.build(spec), spec, path)
    return path


ERRORS = {
    "nothing": ([], "error[E900]: nothing to export"),
    "batch": (["--onnx", "{tmp}/x.onnx", "--batch", "0"], "error[E901]: --batch 0: expected 'dynamic' or a positive integer"),
    "opset": (["--onnx", "{tmp}/x.onnx", "--opset", "12"], "opset 12 is not supported: choose 18.."),
    "bf16": (["--onnx", "{tmp}/x.onnx", "--dtype", "bf16"], "a bf16 ONNX graph cannot be verified here"),
    "mlp_size": (["--onnx", "{tmp}/x.onnx", "--dynamic-size"], "stage 2 of 't_mlp' has mlp blocks"),
    "other_spec": (["--safetensors", "{tmp}/x.safetensors", "--weights", "{other}"],
                   "holds weights for spec 't_trans'"),
    "not_weights": (["--safetensors", "{tmp}/x.safetensors", "--weights", "{tmp}/w.bin"],
                    "expected a spachc .safetensors file or an official .pth"),
}


@pytest.mark.parametrize("case", list(ERRORS))
def test_export_errors_are_one_clear_message(case, tmp_path, other_checkpoint):
    spec_file = tmp_path / "t.spach"
    spec_file.write_text(SPECS["mlp"])
    args, message = ERRORS[case]
    args = [a.format(tmp=tmp_path, other=other_checkpoint) for a in args]
    result = run_cli("export", str(spec_file), *args)
    assert result.returncode == 1
    assert message in result.stderr
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "x.onnx").exists() and not (tmp_path / "x.safetensors").exists()
