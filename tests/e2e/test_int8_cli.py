"""`spachc export --int8 --calibrate DATA`: static per-channel QDQ int8 ONNX, gated on held-out images."""

from __future__ import annotations

import numpy as np
import onnx
import onnxruntime as ort
import pytest
import torch
from onnx import numpy_helper
from support.cli import run_cli
from support.trained_digits import trained_digits  # noqa: F401  (a fixture)

from spachc.export.int8 import allowed_disagreements


@pytest.fixture(scope="module")
def checkpoint(trained_digits, tmp_path_factory):  # noqa: F811
    from spachc.model_io.tensors import save_weights

    spec, model, _, _, _ = trained_digits
    path = tmp_path_factory.mktemp("int8") / "digits.safetensors"
    save_weights(model, spec, path)
    return path


@pytest.fixture(scope="module")
def exported(checkpoint):
    target = checkpoint.with_name("digits.int8.onnx")
    proc = run_cli("export", str(checkpoint), "--onnx", str(target), "--int8", "--calibrate", "digits")
    return target, proc


def test_int8_file_is_quantized_per_channel_and_agrees_with_fp32(exported, trained_digits):  # noqa: F811
    target, proc = exported
    assert proc.returncode == 0, proc.stderr
    spec, model, images, _, _ = trained_digits
    assert "int8 vs fp32 on 355 held-out digits images" in proc.stdout and "top-1 agreement" in proc.stdout
    graph = onnx.load(str(target))
    meta = {p.key: p.value for p in graph.metadata_props}
    assert meta["spachc.dtype"] == "int8" and meta["spachc.spec_hash"] == spec.hash
    ops = [n.op_type for n in graph.graph.node]
    assert ops.count("QuantizeLinear") > 0 and ops.count("DequantizeLinear") > ops.count("QuantizeLinear")
    initializers = {t.name: numpy_helper.to_array(t) for t in graph.graph.initializer}
    int8_weights = {k: v for k, v in initializers.items() if v.dtype == np.int8 and v.ndim >= 2}
    # Every conv and linear weight is stored in int8 but the first (stem) and the last (classifier),
    # and the token MLP's, which its batched GEMM takes as a (broadcast) activation.
    from spachc.nn.mixers.mlp import TokenMLP

    skipped = {"stem.proj", "head"} | {f"{name}.{child}" for name, m in model.named_modules()
                                       if isinstance(m, TokenMLP) for child in ("fc1", "fc2")}
    expected = sorted(tuple(sorted(m.weight.shape)) for name, m in model.named_modules()
                      if isinstance(m, (torch.nn.Conv2d, torch.nn.Linear)) and name not in skipped)
    # (the exporter stores linear weights transposed and renamed: compare shapes, as multisets)
    assert sorted(tuple(sorted(v.shape)) for v in int8_weights.values()) == expected
    # 7-bit weights (reduce_range), the widest whose uint8 x int8 pair sums cannot saturate int16
    # on CPUs without VNNI; a channel's largest weight takes the whole range
    assert max(int(np.abs(v).max()) for v in int8_weights.values()) == 64
    # Per channel: each int8 weight's DequantizeLinear has one scale per output channel.
    for node in graph.graph.node:
        if node.op_type == "DequantizeLinear" and node.input[0] in int8_weights:
            scale = initializers[node.input[1]]
            axis = next((a.i for a in node.attribute if a.name == "axis"), 1)
            assert scale.shape == (int8_weights[node.input[0]].shape[axis],)
    # Independent check: onnxruntime on the int8 file against the PyTorch fp32 module.
    session = ort.InferenceSession(str(target), providers=["CPUExecutionProvider"])
    got = session.run(["logits"], {"images": images.numpy()})[0]
    with torch.inference_mode():
        expected = model(images).numpy()
    n = len(images)
    measured_disagree = int((got.argmax(1) != expected.argmax(1)).sum())
    measured_error = float(np.abs(got - expected).max())
    assert 0 < measured_error < 0.1 * np.abs(expected).max()  # int8 really ran, and closely
    recorded_disagree = round((1 - float(meta["spachc.int8.agreement"])) * n)
    recorded_error = float(meta["spachc.int8.max_abs_logit_error"])
    # The recorded figure came from another int8 run (export's batches, its fp32 graph in
    # onnxruntime); int8 kernels round differently by CPU (VNNI, AMX) and by batch shape, so
    # the two runs may disagree, but only on images whose fp32 top-1 margin is within reach of
    # int8's error: an image flips only if its margin is below twice the run's max |Δlogit|.
    top2 = np.sort(expected, axis=1)[:, -2:]
    fragile = int(((top2[:, 1] - top2[:, 0]) < 2 * max(recorded_error, measured_error)).sum())
    assert abs(recorded_disagree - measured_disagree) <= fragile, (recorded_disagree, measured_disagree, fragile)
    # The gate (at most k of n differ, k for a 1% rate) held when the file was written, and holds
    # here up to those fragile images.
    allowed = allowed_disagreements(n, 0.99)
    assert meta["spachc.int8.gate"] == f"at most {allowed} of {n} differ"
    assert recorded_disagree <= allowed
    assert measured_disagree <= allowed + fragile, (measured_disagree, fragile)
    assert fragile < 0.05 * n  # a trained model: almost every image has a clear margin


def test_int8_below_the_minimum_agreement_is_not_written(trained_digits, tmp_path):  # noqa: F811
    """An untrained network (random head): its class margins are within int8's rounding, so
    int8 and fp32 disagree on many images and the gate must refuse to write the file."""
    import spachc
    from spachc.model_io.tensors import save_weights

    spec = trained_digits[0]
    torch.manual_seed(1)
    untrained = spachc.build(spec)
    torch.nn.init.normal_(untrained.head.weight, std=0.02)
    weights = tmp_path / "untrained.safetensors"
    save_weights(untrained, spec, weights)
    target = tmp_path / "untrained.onnx"
    proc = run_cli("export", str(weights), "--onnx", str(target), "--int8", "--calibrate", "digits")
    assert proc.returncode == 1, proc.stdout
    assert "error[E907]: int8 file not written" in proc.stderr and "(minimum 99.00%)" in proc.stderr
    assert "FAILED" in proc.stderr
    assert "onnx.checker (full check): ok" in proc.stdout  # the fp32 graph's figures are still shown
    assert not target.exists() and not list(tmp_path.glob(".untrained.onnx.*"))
    # The library (which the command only prints) fails the same way, with what it measured.
    from spachc.diagnostics import UserError

    with pytest.raises(UserError) as info:
        spachc.export(weights, onnx=target, int8=True, calibrate="digits")
    assert info.value.code == "E907"
    (fp32,) = info.value.report.files
    assert fp32.verification.ok and fp32.int8 is None and not fp32.published
    assert not target.exists() and not list(tmp_path.glob(".untrained.onnx.*"))


@pytest.mark.parametrize("args", [("--int8",), ("--int8", "--calibrate", "digits", "--dtype", "fp16"),
                                  ("--calibrate", "digits"), ("--int8", "--calibrate", "digits",
                                                              "--min-agreement", "1.5")])
def test_int8_option_errors(checkpoint, args):
    proc = run_cli("export", str(checkpoint), "--onnx", str(checkpoint.with_name("x.onnx")), *args)
    assert proc.returncode == 1 and "error[E908]" in proc.stderr


def test_the_report_names_int8_and_gives_top1_against_the_labels(exported):
    _, proc = exported
    assert "onnx: fp32 graph (" in proc.stdout and "to be quantized (not kept)" in proc.stdout
    assert "fp32) exported" not in proc.stdout.split("int8:")[0].split("onnx: fp32 graph")[0]
    assert "top-1 against the labels: int8 " in proc.stdout and "(the gate allows 7: the 95th percentile" in proc.stdout


def test_calibration_data_of_other_classes_is_refused(trained_digits, tmp_path):  # noqa: F811
    """A model that records animal class names, calibrated on digits (also 10 classes)."""
    from spachc.model_io import metadata as meta
    from spachc.model_io.tensors import save_weights

    spec, model, _, _, _ = trained_digits
    animals = ("cat", "dog", "horse", "deer", "bird", "frog", "fish", "cow", "bear", "duck")
    info = meta.ModelInfo(meta.Preprocessing(tuple(spec.input), spec.channels, (0.5,) * spec.channels,
                                             (0.5,) * spec.channels, 0.875), animals)
    weights = tmp_path / "animals.safetensors"
    save_weights(model, spec, weights, extra=meta.model_info_entries(info))
    proc = run_cli("export", str(weights), "--onnx", str(tmp_path / "a.onnx"), "--int8", "--calibrate", "digits")
    assert proc.returncode == 1, proc.stdout
    assert "error[E908]: --calibrate digits: its classes (0, 1, 2, 3, 4, ...) are not the model's (cat, dog" \
        in proc.stderr, proc.stderr
    assert not (tmp_path / "a.onnx").exists()
