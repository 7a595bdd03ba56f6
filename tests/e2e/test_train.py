"""`spachc train` and `spachc eval` end to end, in real subprocesses, on real PNG files."""

from __future__ import annotations

import json

import pytest
import torch
from PIL import Image
from support.cli import run_cli
from support.training import SMALL_RUN, assert_same_weights, metrics, train, write_image_folder, write_spec


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    return write_image_folder(tmp_path_factory.mktemp("shapes"))


@pytest.fixture(scope="module")
def spec(tmp_path_factory):
    return write_spec(tmp_path_factory.mktemp("spec"))


@pytest.fixture(scope="module")
def two_epochs(folder, spec, tmp_path_factory):
    out = tmp_path_factory.mktemp("run") / "two"
    proc = train(spec, folder, out, "--epochs", "2", "--workers", "2", *SMALL_RUN)
    assert proc.returncode == 0, proc.stderr
    return out, proc


def test_two_epoch_run_writes_metrics_curves_and_checkpoints(two_epochs):
    out, proc = two_epochs
    rows = metrics(out)
    assert [r["epoch"] for r in rows] == [1, 2]
    assert all(r["val_images"] == 12 for r in rows)
    assert {"train_loss", "val_loss", "val_top1", "val_top5", "val_top1_ema", "lr"} <= rows[0].keys()
    with Image.open(out / "curves.png") as image:
        assert image.format == "PNG" and image.size == (640, 600)
    state = torch.load(out / "state.pt", weights_only=True)
    assert state["epoch"] == 2 and state["step_in_epoch"] == 0 and state["optimizer"]["state"]
    for name in ("last", "best", "last.ema", "best.ema"):
        assert (out / f"{name}.safetensors").is_file()
    run = json.loads((out / "run.json").read_text())
    assert run["recipe"]["epochs"] == 2 and run["recipe"]["randaugment"] == "rand-m9-mstd0.5-inc1"
    assert "epoch 2/2" in proc.stdout and "top-1" in proc.stdout
    assert not list(out.glob("*.tmp")) and not list(out.glob(".*"))


def test_eval_of_the_last_checkpoint_repeats_the_last_validation(two_epochs, spec, folder):
    out, _ = two_epochs
    proc = run_cli("eval", str(spec), "--weights", str(out / "last.safetensors"), "--data", str(folder), "--json",
                   "--device", "cpu")
    assert proc.returncode == 0, proc.stderr
    result = json.loads(proc.stdout)
    last = metrics(out)[-1]
    assert result["images"] == 12
    assert result["top1"] == pytest.approx(last["val_top1"], abs=1e-9)
    assert result["top5"] == pytest.approx(last["val_top5"], abs=1e-9)
    assert result["loss"] == pytest.approx(last["val_loss"], rel=1e-5)


def test_eval_of_the_ema_weights_repeats_the_ema_validation(two_epochs, spec, folder):
    out, _ = two_epochs
    proc = run_cli("eval", str(spec), "--weights", str(out / "last.safetensors"), "--ema", "--data", str(folder),
                   "--json", "--device", "cpu")
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["top1"] == pytest.approx(metrics(out)[-1]["val_top1_ema"], abs=1e-9)


WIDE_SPEC = """\
model wide
input 16
classes 3
stem conv1 patch 4
drop_path 0.1
stage conv x1 dim 512
"""


@pytest.mark.parametrize("width", ["tiny", "wide"])
def test_resume_is_exact(folder, spec, tmp_path, width):
    """4 epochs in one go == 2 epochs, stop, --resume for 2 more (and worker count does not matter).
    `wide` (over 1M parameters) trains with AdamW's fused kernel, `tiny` with the op-by-op one."""
    import spachc
    from spachc.train.optimizer import fused_adamw

    if width == "wide":
        spec = write_spec(tmp_path, WIDE_SPEC, "wide.spach")
    model = spachc.build(spachc.load(str(spec)))
    assert fused_adamw(torch.device("cpu"), model) == (width == "wide")
    whole, split = tmp_path / "whole", tmp_path / "split"
    args = ("--epochs", "4", *SMALL_RUN)
    assert (p := train(spec, folder, whole, *args, "--workers", "2")).returncode == 0, p.stderr
    first = train(spec, folder, split, *args, "--workers", "0", "--stop-after", "2")
    assert first.returncode == 0, first.stderr
    assert "stopped after epoch 2 of 4" in first.stdout
    assert len(metrics(split)) == 2
    second = train(spec, folder, split, "--resume", "--workers", "1", "--log-every", "1")
    assert second.returncode == 0, second.stderr
    assert "resuming" in second.stdout
    assert_same_weights(whole / "last.safetensors", split / "last.safetensors")
    assert_same_weights(whole / "last.ema.safetensors", split / "last.ema.safetensors")
    assert metrics(whole) == metrics(split)


def test_resume_refuses_another_spec(two_epochs, folder, tmp_path):
    out, _ = two_epochs
    other = write_spec(tmp_path, "model tiny\ninput 16\nclasses 3\nstem patch 4\nstage conv x2 dim 8\n")
    proc = train(other, folder, out, "--resume")
    assert proc.returncode == 1
    assert "error[E1003]" in proc.stderr and "this run trained spec 'tiny'" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_existing_run_needs_resume(two_epochs, spec, folder):
    out, _ = two_epochs
    proc = train(spec, folder, out, "--epochs", "2")
    assert proc.returncode == 1 and "already holds a run" in proc.stderr and "--resume" in proc.stderr


def test_resume_refuses_a_changed_recipe(two_epochs, spec, folder):
    out, _ = two_epochs
    proc = train(spec, folder, out, "--resume", "--epochs", "2", "--lr", "0.5", *SMALL_RUN[:2])
    assert proc.returncode == 1 and "error[E1003]" in proc.stderr and "--lr 0.002 (now 0.5)" in proc.stderr


@pytest.mark.parametrize("setting, message", [
    ([], "has classes 1000 but digits has 10 classes; fix it with --set classes=10"),
    (["--set", "classes=10", "--set", "input=32 channels 2"],
     "takes 2-channel input but digits images convert to 1 or 3 channels; fix it with --set \"input=32 channels 3\""),
])
def test_spec_that_does_not_fit_the_data_fails_before_training(setting, message, tmp_path):
    proc = train("trans_ms_xxs", "digits", tmp_path / "r", *setting)
    assert proc.returncode == 1
    assert message in proc.stderr and "error[E1001]" in proc.stderr
    assert not (tmp_path / "r").exists()


def test_bad_recipe_value_names_its_flag(spec, tmp_path):
    proc = train(spec, "digits", tmp_path / "r", "--set", "classes=10", "--mixup", "-1")
    assert proc.returncode == 1 and "error[E1002]" in proc.stderr and "--mixup" in proc.stderr


def test_bf16_autocast_and_channels_last_train_on_cpu(folder, spec, tmp_path):
    out = tmp_path / "bf16"
    proc = train(spec, folder, out, "--epochs", "1", "--amp", "bf16", "--channels-last", "--workers", "0", *SMALL_RUN)
    assert proc.returncode == 0, proc.stderr
    assert json.loads((out / "run.json").read_text())["amp"] == "bfloat16"
    row = metrics(out)[0]
    assert row["train_loss"] > 0 and 0 <= row["val_top1"] <= 100
    weights = torch.load(out / "state.pt", weights_only=True)["model"]
    assert all(t.dtype == torch.float32 for t in weights.values() if t.is_floating_point())


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the message given where CUDA is absent")
def test_train_on_cuda_without_cuda_is_a_coded_error(spec, tmp_path):
    proc = run_cli("train", str(spec), "--data", "digits", "--set", "classes=10", "--device", "cuda",
                   "--out", str(tmp_path / "r"))
    assert proc.returncode == 1
    assert "error[E1008]" in proc.stderr and "no CUDA device" in proc.stderr and "Traceback" not in proc.stderr
