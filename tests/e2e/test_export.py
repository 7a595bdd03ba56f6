"""ONNX and safetensors export of every block kind, checked against onnxruntime and
against a rebuild from the file alone."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from support.exporting import SPECS, input_dims, logits, onnx_metadata, random_model, randomised, run_onnx

import spachc
from spachc.export.onnx_export import ExportError, OnnxOptions, export_onnx
from spachc.export.safetensors_export import export_safetensors
from spachc.export.verify import FP32_TOLERANCE, VerificationError, verify_onnx, verify_safetensors
from spachc.model_io.tensors import read_metadata

DYNAMIC_SIZE = {"conv": True, "trans": True, "mlp": False, "shared": True, "conv4": True,
                "pool_shift": True, "sepconv": True, "smlp": False}


@pytest.mark.parametrize("kind", list(SPECS))
def test_onnx_export_matches_onnxruntime(kind, tmp_path):
    spec, model = random_model(kind)
    options = OnnxOptions(dynamic_size=DYNAMIC_SIZE[kind])
    path = export_onnx(model, spec, tmp_path / f"{kind}.onnx", options)

    report = verify_onnx(path, model, spec, options)
    assert report.ok, report.cases
    assert [c.shape[0] for c in report.cases] == [1, 3] * (2 if options.dynamic_size else 1)
    assert all(c.max_abs_logit > 0.1 for c in report.cases)  # non-trivial logits were compared

    # Independently of verify_onnx: onnxruntime on our own batch of 2.
    images = torch.randn(2, 3, 32, 32, generator=torch.Generator().manual_seed(7))
    np.testing.assert_allclose(run_onnx(path, images), logits(model, images), atol=FP32_TOLERANCE, rtol=0)

    assert input_dims(path) == ["batch", 3] + (["height", "width"] if options.dynamic_size else [32, 32])
    meta = onnx_metadata(path)
    assert spachc.parse(meta["spachc.spec"]).hash == spec.hash == meta["spachc.spec_hash"]
    assert meta["spachc.input_size"] == "32x32"
    assert meta["spachc.normalize.mean"] == "0.485,0.456,0.406"
    assert meta["spachc.normalize.std"] == "0.229,0.224,0.225"
    assert meta["spachc.version"] == spachc.__version__
    assert not list(tmp_path.glob("*.data")), "a small model must be a single self-contained file"
    if options.dynamic_size:
        assert_runs_at_a_size_it_was_not_traced_at(path, kind, model)


def assert_runs_at_a_size_it_was_not_traced_at(path, kind, model):
    """Against a module built for that size: the graph must not have pinned H×W."""
    h, w = 48, 80
    resized = spachc.build(spachc.parse(SPECS[kind], overrides=[f"input={h}x{w}"]))
    resized.load_state_dict(model.state_dict())
    images = torch.randn(2, 3, h, w, generator=torch.Generator().manual_seed(h))
    np.testing.assert_allclose(run_onnx(path, images), logits(resized, images), atol=FP32_TOLERANCE, rtol=0)
    assert model(images[:, :, :32, :32]).shape == (2, 5)  # the module still runs at its own size


@pytest.mark.parametrize("kind", list(SPECS))
def test_safetensors_export_rebuilds_from_the_file_alone(kind, tmp_path):
    spec, model = random_model(kind)
    path = export_safetensors(model, spec, tmp_path / f"{kind}.safetensors")

    reloaded = spachc.load_model(path)
    images = torch.randn(3, 3, 32, 32, generator=torch.Generator().manual_seed(1))
    np.testing.assert_array_equal(logits(reloaded, images), logits(model, images))
    assert verify_safetensors(path, model, spec, "fp32").ok
    meta = read_metadata(path)
    assert (meta["spachc.spec_hash"], meta["spachc.version"], meta["spachc.dtype"]) == (
        spec.hash, spachc.__version__, "float32")
    assert spachc.parse(meta["spachc.spec"]).hash == spec.hash


def test_fixed_size_graph_refuses_other_sizes(tmp_path):
    spec, model = random_model("conv")
    path = export_onnx(model, spec, tmp_path / "fixed.onnx", OnnxOptions(batch=2))
    assert input_dims(path) == [2, 3, 32, 32]
    from onnxruntime.capi.onnxruntime_pybind11_state import InvalidArgument

    with pytest.raises(InvalidArgument):
        run_onnx(path, torch.randn(2, 3, 64, 64))


def test_mlp_stage_cannot_be_exported_with_a_dynamic_size(tmp_path):
    spec, model = random_model("mlp")
    with pytest.raises(ExportError, match=r"stage 2 of 't_mlp' has mlp blocks.*exactly 16 tokens \(4x4\)"):
        export_onnx(model, spec, tmp_path / "x.onnx", OnnxOptions(dynamic_size=True))
    assert not (tmp_path / "x.onnx").exists()


def test_smlp_stage_cannot_be_exported_with_a_dynamic_size(tmp_path):
    spec, model = random_model("smlp")
    with pytest.raises(ExportError, match=r"stage 2 of 't_smlp' has smlp blocks.*exactly 16 tokens \(4x4\)"):
        export_onnx(model, spec, tmp_path / "x.onnx", OnnxOptions(dynamic_size=True))


def test_verification_catches_a_graph_that_computes_something_else(tmp_path):
    spec, model = random_model("trans", seed=0)
    path = export_onnx(model, spec, tmp_path / "t.onnx", OnnxOptions())
    _, other = random_model("trans", seed=1)
    report = verify_onnx(path, other, spec, OnnxOptions())
    assert not report.ok
    with pytest.raises(VerificationError, match=r"verification failed; outputs differ:\n  batch 1 @32x32: max\|Δ\|"):
        report.raise_if_failed()


def test_fp16_export_is_as_accurate_as_pytorch_in_fp16(tmp_path):
    spec, model = random_model("shared")
    options = OnnxOptions(dtype="fp16")
    path = export_onnx(model, spec, tmp_path / "half.onnx", options)
    report = verify_onnx(path, model, spec, options)
    assert report.ok, report.cases
    images = torch.randn(2, 3, 32, 32, generator=torch.Generator().manual_seed(3))
    got = run_onnx(path, images.half())
    assert got.dtype == np.float16
    # fp16 keeps ~3 significant digits: against fp32, well within 1% of the logits' scale.
    reference = logits(model, images)
    assert np.abs(got.astype(np.float32) - reference).max() < 1e-2 * np.abs(reference).max()
    assert onnx_metadata(path)["spachc.dtype"] == "fp16"


def test_fp16_safetensors_reloads_the_rounded_weights(tmp_path):
    spec, model = random_model("conv4")
    path = export_safetensors(model, spec, tmp_path / "half.safetensors", dtype="fp16")
    assert read_metadata(path)["spachc.dtype"] == "float16"
    rounded = random_model("conv4")[1].half().float()
    images = torch.randn(2, 3, 32, 32)
    np.testing.assert_array_equal(logits(spachc.load_model(path), images), logits(rounded, images))
    assert verify_safetensors(path, model, spec, "fp16").ok


@pytest.mark.slow
def test_hybrid_s_exports_and_verifies_at_batch_1_and_3(tmp_path):
    """The paper's Hybrid-MS-S (63M params, random weights) through the full ONNX path."""
    spec = spachc.load("hybrid_s")
    torch.manual_seed(0)
    from support.exporting import randomised

    model = randomised(spachc.build(spec), scale=0.02)
    path = export_onnx(model, spec, tmp_path / "hybrid_s.onnx", OnnxOptions())
    report = verify_onnx(path, model, spec, OnnxOptions())
    assert [c.shape for c in report.cases] == [(1, 3, 224, 224), (3, 3, 224, 224)]
    assert report.ok, report.cases
    assert all(c.max_abs_logit > 0.1 for c in report.cases)
    meta = onnx_metadata(path)
    assert meta["spachc.spec_hash"] == spec.hash
    assert spachc.parse(meta["spachc.spec"]) == spachc.parse(spachc.to_text(spec))
    assert not list(tmp_path.glob("*.data"))


def test_a_graph_over_the_protobuf_limit_keeps_its_weights_in_a_data_file(tmp_path, monkeypatch):
    """The >2 GB branch, exercised on a small model by lowering the threshold it is compared with."""
    from spachc.export import onnx_export

    monkeypatch.setattr(onnx_export, "PROTOBUF_LIMIT", 0)
    spec, model = random_model("trans")
    path = export_onnx(model, spec, tmp_path / "big.onnx", OnnxOptions())
    assert (tmp_path / "big.onnx.data").is_file()
    assert (tmp_path / "big.onnx.data").stat().st_size > 4 * 16 * 48  # at least the qkv weights
    assert verify_onnx(path, model, spec, OnnxOptions()).ok
    from spachc.export.inspect import describe

    assert describe(path)["external_data"] == ["big.onnx.data"]


def test_the_library_publishes_a_graph_over_the_protobuf_limit_in_place(tmp_path, monkeypatch):
    """>2 GB (threshold lowered): the .onnx names its .data, so both are written under their final
    names; a verification failure removes both, a success reports them."""
    from spachc.export import onnx_export, verify
    from spachc.export.publish import publish_onnx

    monkeypatch.setattr(onnx_export, "PROTOBUF_LIMIT", 0)
    spec, model = random_model("trans")
    published = publish_onnx(model, spec, tmp_path / "big.onnx", OnnxOptions())
    assert published.external_data and published.published and published.verification.ok
    assert sorted(p.name for p in tmp_path.iterdir()) == ["big.onnx", "big.onnx.data"]
    images = torch.randn(2, spec.channels, *spec.input)
    np.testing.assert_allclose(run_onnx(tmp_path / "big.onnx", images), logits(model, images), atol=1e-4, rtol=0)

    monkeypatch.setattr(verify, "FP32_TOLERANCE", -1.0)  # no difference is small enough: verification fails
    with pytest.raises(VerificationError):
        publish_onnx(model, spec, tmp_path / "failed.onnx", OnnxOptions())
    assert sorted(p.name for p in tmp_path.iterdir()) == ["big.onnx", "big.onnx.data"]


def test_a_failed_verification_publishes_nothing_and_keeps_the_old_file(tmp_path, monkeypatch):
    from spachc.export import verify
    from spachc.export.publish import publish_onnx, publish_safetensors

    spec, model = random_model("conv")
    (tmp_path / "m.onnx").write_bytes(b"the previous file")
    monkeypatch.setattr(verify, "FP32_TOLERANCE", -1.0)
    for publish, name in ((publish_onnx, "m.onnx"), (publish_safetensors, "m.safetensors")):
        with pytest.raises(VerificationError):
            publish(model, spec, tmp_path / name, **({"options": OnnxOptions()} if name.endswith("onnx") else {}))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.onnx"]
    assert (tmp_path / "m.onnx").read_bytes() == b"the previous file"


FOUR_STAGES_AT_32 = """\
model down_to_one
input 32
classes 4
stem conv1 patch 4
stage conv x1 dim 8 -> down -> stage conv x1 -> down -> stage trans x1 -> down -> stage trans x1
"""


def test_a_dynamic_size_graph_whose_last_grid_is_one_token_stays_dynamic(tmp_path):
    """At input 32 the last grid is 1x1; traced there, the exporter pinned height and width to 32
    and verification at 64x96 crashed in onnxruntime. Traced where every grid is >= 2, it stays
    dynamic and verifies at both sizes."""
    from spachc.export.verify import module_at_size

    spec = spachc.parse(FOUR_STAGES_AT_32)
    torch.manual_seed(3)
    model = randomised(spachc.build(spec), 3).eval()
    weights = _saved(model, spec, tmp_path)
    report = spachc.export(spec, onnx=tmp_path / "d.onnx", dynamic_size=True, weights=weights)
    (published,) = report.files
    assert published.verification.ok
    assert {c.shape[2:] for c in published.verification.cases} == {(32, 32), (64, 96)}
    assert input_dims(tmp_path / "d.onnx")[2:] == ["height", "width"]
    images = torch.randn(2, 3, 96, 64)  # a third size, checked independently of verify_onnx
    expected = logits(module_at_size(model, spec, (96, 64)), images)
    np.testing.assert_allclose(run_onnx(tmp_path / "d.onnx", images), expected, atol=1e-4, rtol=0)


def test_a_graph_that_cannot_take_the_input_fails_verification_with_a_code(tmp_path):
    """onnxruntime refusing an input is a failed comparison (E910), not a traceback."""
    spec, model = random_model("conv")
    path = export_onnx(model, spec, tmp_path / "fixed.onnx", OnnxOptions())  # 32x32 only
    report = verify_onnx(path, model, spec, OnnxOptions(dynamic_size=True))
    failed = [c for c in report.cases if not c.ok]
    assert failed and all("onnxruntime cannot run it" in c.note for c in failed)
    assert all(c.shape[2:] != (32, 32) for c in failed)
    with pytest.raises(VerificationError) as info:
        report.raise_if_failed()
    assert info.value.code == "E910"


def _saved(model, spec, folder):
    from spachc.model_io.tensors import save_weights

    save_weights(model, spec, folder / "w.safetensors")
    return folder / "w.safetensors"
