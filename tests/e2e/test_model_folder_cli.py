"""Model folders, recorded preprocessing and `spachc predict`, end to end on the digits:
a model trained, saved as a folder, then predict on PNG files of validation images gives the
classes eval gives, in PyTorch and in onnxruntime; exports carry the digits normalisation;
files written before preprocessing was recorded still load, with a note."""

from __future__ import annotations

import json

import numpy as np
import onnx
import pytest
import torch
from support.training import train, write_spec
from typer.testing import CliRunner

import spachc
from spachc.cli.app import app
from spachc.model_io import metadata as meta
from spachc.model_io.folder import model_info
from spachc.model_io.tensors import read_metadata, save_weights

DIGITS_SPEC = """\
model digits_tiny
input 16 channels 1
classes 10
stem conv1 patch 4
defaults heads 2
stage conv x1 dim 16
-> down -> stage conv x1, trans x1
"""


def cli(*args: str):
    result = CliRunner().invoke(app, list(args))
    assert result.exit_code == 0, (result.stdout, result.stderr, result.exception)
    return result


# --- digits: train, save, predict, eval, export ------------------------------------------------

@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    root = tmp_path_factory.mktemp("digits")
    spec = write_spec(root, DIGITS_SPEC)
    proc = train(spec, "digits", root / "run", "--recipe", "quick", "--epochs", "3", "--workers", "0",
                 "--warmup-epochs", "1", "--lr", "3e-3")
    assert proc.returncode == 0, proc.stderr
    cli("save", str(root / "run"), str(root / "model"))  # a run folder stands for its best weights
    return root


@pytest.fixture(scope="module")
def val_pngs(trained):
    """The digits validation images as real PNG files, named by index."""
    from spachc.datasets.data import digits

    folder = trained / "png"
    folder.mkdir()
    data = digits()
    paths = []
    for i in range(len(data.val)):
        path = folder / f"{i:03d}.png"
        data.val.image(i).save(path)
        paths.append(str(path))
    return paths, list(data.val.labels)


def predicted(result) -> list[int]:
    return [p["top"][0]["index"] for p in json.loads(result.stdout)["predictions"]]


def test_folder_holds_spec_weights_and_timm_style_preprocessing(trained):
    config = json.loads((trained / "model" / "config.json").read_text())
    cfg = config["pretrained_cfg"]
    assert cfg["mean"] == [0.3053] and cfg["std"] == [0.376]  # the digits', not ImageNet's
    # the quick recipe evaluates the whole image (eval_crop 1), and records it
    assert cfg["input_size"] == [1, 16, 16] and cfg["interpolation"] == "bicubic" and cfg["crop_pct"] == 1.0
    assert cfg["num_classes"] == 10 and cfg["label_names"] == [str(i) for i in range(10)]
    assert config["spec_hash"] == spachc.parse(DIGITS_SPEC).hash
    stored = read_metadata(trained / "model" / "model.safetensors")
    assert json.loads(stored[meta.PREPROCESSING]) == {k: cfg[k] for k in json.loads(stored[meta.PREPROCESSING])}
    model = spachc.from_pretrained(trained / "model")
    assert model.pretrained_cfg["mean"] == [0.3053] and not model.training
    backbone = spachc.from_pretrained(trained / "model", features_only=True)
    images = torch.randn(2, 1, 16, 16)
    with torch.no_grad():
        _, maps = model.forward_intermediates(images)
        assert all(torch.equal(a, b) for a, b in zip(backbone(images), maps))


def test_predict_on_pngs_gives_the_classes_of_eval_in_torch_and_onnxruntime(trained, val_pngs, tmp_path):
    from spachc.datasets.data import digits
    from spachc.train.evaluate import eval_transform

    paths, labels = val_pngs
    folder = str(trained / "model")
    torch_classes = predicted(cli("predict", folder, *paths, "--json", "--top-k", "3"))
    # eval's own path: its transform on the decoded dataset images, the same weights.
    model = spachc.from_pretrained(folder)
    data = digits()
    transform = eval_transform(model.model_info)
    with torch.no_grad():
        batch = torch.stack([transform(data.val.image(i)) for i in range(len(data.val))])
        eval_classes = model(batch).argmax(dim=1).tolist()
    assert torch_classes == eval_classes
    report = json.loads(cli("eval", folder, "--data", "digits", "--json", "--workers", "0").stdout)
    accuracy = 100.0 * float(np.mean(np.array(torch_classes) == np.array(labels)))
    assert report["images"] == len(paths) and accuracy == pytest.approx(report["top1"], abs=1e-9)
    assert accuracy > 30  # trained: well above the 10% of chance
    onnx_classes = predict_onnx = predicted(cli("predict", folder, *paths, "--json", "--onnx"))
    assert onnx_classes == torch_classes
    # The exported ONNX file carries the digits normalisation and labels, and predicts alike.
    cli("export", folder, "--onnx", str(tmp_path / "m.onnx"), "--safetensors", str(tmp_path / "m.safetensors"))
    props = {p.key: p.value for p in onnx.load(str(tmp_path / "m.onnx")).metadata_props}
    assert props[meta.NORMALIZE_MEAN] == "0.3053" and props[meta.NORMALIZE_STD] == "0.376"
    assert json.loads(props[meta.PREPROCESSING])["mean"] == [0.3053]
    assert json.loads(props[meta.LABELS]) == [str(i) for i in range(10)]
    assert json.loads(read_metadata(tmp_path / "m.safetensors")[meta.PREPROCESSING])["std"] == [0.376]
    assert predicted(cli("predict", str(tmp_path / "m.onnx"), *paths[:40], "--json")) == predict_onnx[:40]
    text = cli("predict", folder, paths[0], "--top-k", "2").stdout
    assert text.splitlines()[0] == paths[0] and text.splitlines()[1].split()[:2] == ["1.", str(torch_classes[0])]


def test_every_model_command_takes_a_folder(trained):
    folder = str(trained / "model")
    assert "weights loaded from" in cli("build", folder).stdout
    assert "model folder" in cli("inspect", folder).stdout
    assert "digits_tiny" in cli("graph", folder).stdout
    assert json.loads(cli("diff", folder, folder, "--json").stdout)["same"] is True
    assert json.loads(cli("bench", folder, "--steps", "1", "--warmup", "0", "--json").stdout)["params"] > 0


def test_every_model_command_takes_a_training_run_folder(trained, val_pngs, tmp_path):
    """After `spachc train --out RUN`, RUN stands for RUN/best.safetensors everywhere a trained
    model is taken: the same answers as the model folder saved from it."""
    run, folder = str(trained / "run"), str(trained / "model")
    paths = val_pngs[0][:25]
    assert predicted(cli("predict", run, *paths, "--json")) == predicted(cli("predict", folder, *paths, "--json"))
    evals = [json.loads(cli("eval", m, "--data", "digits", "--json", "--workers", "0").stdout) for m in (run, folder)]
    assert evals[0]["top1"] == evals[1]["top1"] and evals[0]["loss"] == evals[1]["loss"]
    assert json.loads(cli("diff", run, folder, "--json").stdout)["same"] is True
    assert "digits_tiny" in cli("graph", run).stdout
    assert f"{trained / 'run' / 'best.safetensors'}: safetensors" in cli("inspect", run).stdout
    assert "weights loaded from" in cli("build", run).stdout
    exported = cli("export", run, "--onnx", str(tmp_path / "r.onnx")).stdout
    assert f"weights: spachc checkpoint {trained / 'run' / 'best.safetensors'}" in exported
    props = {p.key: p.value for p in onnx.load(str(tmp_path / "r.onnx")).metadata_props}
    assert props[meta.NORMALIZE_MEAN] == "0.3053"  # the run's recorded preprocessing, not ImageNet's


@pytest.mark.parametrize("given, says", [
    ("run/state.pt", "a training state, not a model to predict with"),
    ("tiny.spach", "a spec, not a trained model: predict needs weights"),
    ("hybrid_s", "a spec, not a trained model: predict needs weights"),
    ("png", "not a model folder, training run folder, .safetensors or .onnx file"),
])
def test_predict_says_what_it_was_given_instead_of_a_model(trained, val_pngs, given, says):
    arg = given if given == "hybrid_s" else str(trained / given)
    result = CliRunner().invoke(app, ["predict", arg, val_pngs[0][0]])
    assert result.exit_code == 1 and f"error[E1222]: {arg}: {says}" in result.stderr, result.stderr


def test_a_weights_file_without_preprocessing_still_loads_with_a_note(trained, val_pngs, tmp_path):
    spec = spachc.parse(DIGITS_SPEC)
    model = spachc.from_pretrained(trained / "model")
    old = tmp_path / "old.safetensors"
    save_weights(model, spec, old)  # what spachc wrote before it recorded preprocessing
    assert meta.PREPROCESSING not in read_metadata(old)
    reloaded = spachc.from_pretrained(old)
    assert reloaded.model_info.note and reloaded.model_info.preprocessing.mean == (0.5,)
    result = cli("predict", str(old), val_pngs[0][0])
    assert "no preprocessing recorded in" in result.stderr and "written before" not in result.stderr
    assert model_info(old, spec).note is not None


def test_exported_backbone_matches_pytorch_in_onnxruntime_at_two_sizes(tmp_path):
    import onnxruntime as ort

    from spachc.export.onnx_export import OnnxOptions, export_onnx
    from spachc.export.verify import verify_onnx

    spec = spachc.parse(DIGITS_SPEC.replace("input 16 channels 1", "input 32 channels 3"))
    torch.manual_seed(0)
    backbone = spachc.build(spec, features_only=True).eval()
    path = export_onnx(backbone, spec, tmp_path / "f.onnx", OnnxOptions(dynamic_size=True))
    proto = onnx.load(str(path))
    assert [o.name for o in proto.graph.output] == ["stage1", "stage2"]
    assert [d.dim_param for d in proto.graph.input[0].type.tensor_type.shape.dim] == ["batch", "", "height", "width"]
    report = verify_onnx(path, backbone, spec, OnnxOptions(dynamic_size=True))
    assert report.ok and {c.shape[2:] for c in report.cases} == {(32, 32), (40, 48)}
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    for size in ((32, 32), (64, 96)):
        images = torch.randn(2, 3, *size)
        with torch.no_grad():
            expected = backbone(images)
        got = session.run(None, {"images": images.numpy()})
        for e, g in zip(expected, got):
            assert g.shape == tuple(e.shape)
            np.testing.assert_allclose(g, e.numpy(), atol=1e-4, rtol=0)
    features = json.loads({p.key: p.value for p in proto.metadata_props}[meta.FEATURES])
    assert [f["reduction"] for f in features] == [4, 8]
    # An export from before preprocessing was recorded: the defaults, and a note.
    del proto.metadata_props[:]
    onnx.save(proto, str(tmp_path / "old.onnx"))
    info = model_info(tmp_path / "old.onnx", spec)
    assert info.note and info.preprocessing.mean == meta.IMAGENET_MEAN


def test_metadata_preprocessing_and_folder_modules_never_import_torch():
    import subprocess
    import sys

    code = ("import sys, spachc.model_io.metadata, spachc.datasets.preprocess, spachc.model_io.folder, spachc.lang.sizes; "
            "sys.exit('torch' in sys.modules)")
    assert subprocess.run([sys.executable, "-c", code], timeout=60).returncode == 0


def test_zero_head_verification_is_not_vacuous(tmp_path):
    """An untrained model's logits are all 0; the probe head must still catch a wrong graph."""
    from onnx import numpy_helper

    from spachc.export.onnx_export import OnnxOptions, export_onnx
    from spachc.export.verify import verify_onnx

    spec = spachc.parse(DIGITS_SPEC)
    torch.manual_seed(0)
    model = spachc.build(spec).eval()
    options = OnnxOptions(batch=2)
    path = export_onnx(model, spec, tmp_path / "zero.onnx", options)
    report = verify_onnx(path, model, spec, options)
    probes = [c for c in report.cases if "probe head" in c.note]
    assert report.ok and probes and all(c.max_abs_logit > 0 for c in probes)
    assert all(c.max_abs_logit == 0 for c in report.cases if c not in probes)
    # Damage a weight before the head: the logits stay 0, only the probe can see it.
    proto = onnx.load(str(path))
    target = next(t for t in proto.graph.initializer if t.name.startswith("stages.") and len(t.dims) > 1)
    target.CopyFrom(numpy_helper.from_array(numpy_helper.to_array(target) + 0.5, target.name))
    onnx.save(proto, str(tmp_path / "damaged.onnx"))
    damaged = verify_onnx(tmp_path / "damaged.onnx", model, spec, options)
    failed = [c for c in damaged.cases if not c.ok]
    assert failed and all("probe head" in c.note for c in failed)
