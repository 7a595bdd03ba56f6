"""`spachc inspect FILE`: what a .safetensors or .onnx file holds, read without torch."""

from __future__ import annotations

import json
import re
import subprocess
import sys

import pytest
from support.cli import run_cli
from support.exporting import random_model
from support.paths import REPO

import spachc
from spachc.export.onnx_export import OnnxOptions, export_onnx
from spachc.model_io.tensors import save_weights


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    folder = tmp_path_factory.mktemp("inspect")
    spec, model = random_model("shared")
    save_weights(model, spec, folder / "m.safetensors")
    export_onnx(model, spec, folder / "m.onnx", OnnxOptions(dynamic_size=True, opset=19))
    return spec, model, folder


def test_inspect_safetensors_lists_spec_tensors_and_shared_names(exported):
    spec, model, folder = exported
    result = run_cli("inspect", str(folder / "m.safetensors"), "--json")
    assert result.returncode == 0, result.stderr
    info = json.loads(result.stdout)
    assert info["spec"]["hash"] == spec.hash and info["spec"]["hash_matches"] is True
    assert spachc.parse(info["spec"]["text"]).hash == spec.hash
    state = model.state_dict()
    stored = {t["name"]: t for t in info["tensors"]}
    assert set(stored) | set(info["shared"]) == set(state)
    assert len(info["shared"]) == 8  # blocks 1 and 2 of the shared stage: qkv and proj, weight and bias
    assert stored["head.weight"]["shape"] == list(state["head.weight"].shape) and stored["head.weight"]["dtype"] == "F32"
    assert info["stored_elements"] == spachc.summary(spec).params  # shared tensors once; no buffers here

    text = run_cli("inspect", str(folder / "m.safetensors")).stdout
    assert f"hash {spec.hash}  (matches its spec text)" in text
    assert "stage conv x1 dim 8" in text
    assert "stages.1.blocks.2.mixer.qkv.weight -> stages.1.blocks.0.mixer.qkv.weight" in text


def test_inspect_onnx_shows_inputs_outputs_opset_and_spec(exported):
    spec, _, folder = exported
    result = run_cli("inspect", str(folder / "m.onnx"))
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "opsets: ai.onnx 19" in out
    assert "input images: float32[batch, 3, height, width]" in out
    assert "output logits: float32[batch, 5]" in out
    assert f"hash {spec.hash}  (matches its spec text)" in out
    assert "spachc.dynamic_size: true" in out
    assert "inside the file" in out
    info = json.loads(run_cli("inspect", str(folder / "m.onnx"), "--json").stdout)
    assert info["opsets"] == {"ai.onnx": 19}
    assert info["ops"]["Conv"] >= 2 and info["external_data"] == []


def test_inspect_does_not_import_torch(exported):
    _, _, folder = exported
    code = ("import sys; from spachc.export.inspect import describe; "
            f"describe({str(folder / 'm.safetensors')!r}); describe({str(folder / 'm.onnx')!r}); "
            "assert 'torch' not in sys.modules, 'inspect imported torch'")
    subprocess.run([sys.executable, "-c", code], check=True, cwd=REPO)


@pytest.mark.parametrize("name, content, message", [
    ("w.bin", b"abc", "cannot inspect a '.bin' file; expected .safetensors or .onnx"),
    ("w.onnx", b"\xff\xfe not protobuf", "not a readable ONNX file"),
    ("w.safetensors", b"\x10\x00\x00\x00\x00\x00\x00\x00{", "truncated: 9 bytes, but its header alone needs 24"),
    ("missing.safetensors", None, "no such file"),
])
def test_inspect_errors_name_the_file(tmp_path, name, content, message):
    path = tmp_path / name
    if content is not None:
        path.write_bytes(content)
    result = run_cli("inspect", str(path))
    assert result.returncode == 1
    assert re.match(rf"error\[E81[12]\]: {re.escape(str(path))}: ", result.stderr)  # coded, not a traceback
    assert message in result.stderr and "Traceback" not in result.stderr
