"""Images that are broken or hostile, given to the CLI: `predict` reports each bad file with its
code and still classifies the good ones (exit 1), and takes a folder; `--json` is always valid
JSON (no NaN, non-UTF-8 names escaped); a recorded input size is bounded before allocation;
training skips a bad image (the image readers alone are tests/unit/test_hostile_images.py)."""

from __future__ import annotations

import json
import os
import subprocess

import pytest
from support.cli import env, spachc_cmd
from support.hostile import images, png_declaring  # noqa: F401  (images: a fixture)
from support.paths import REPO
from support.training import SMALL_RUN, train, write_image_folder, write_spec

from spachc.model_io import metadata as meta

SPEC = "model hostile\ninput 16 channels 1\nclasses 3\nstem conv1 patch 4\n\nstage conv x1 dim 8\n"


def weights(path, pre: meta.Preprocessing) -> str:
    """An (untrained) spachc weights file recording `pre`: enough for predict's input handling."""
    import torch

    from spachc.lang.frontend import parse
    from spachc.nn.build import build
    from spachc.model_io.tensors import save_weights

    spec = parse(SPEC)
    torch.manual_seed(0)
    save_weights(build(spec), spec, path, extra=meta.model_info_entries(meta.ModelInfo(pre, ("a", "b", "c"))))
    return str(path)


GOOD = meta.Preprocessing((16, 16), 1, (0.5,), (0.5,), 0.875)


def hostile_weights(path, **cfg) -> str:
    """A weights file whose recorded preprocessing (GOOD's, with `cfg` fields replaced) no
    spachc writer would produce: the metadata entry is written as JSON directly (its
    checksum is consistent, so only the reader's validation can refuse it)."""
    import json

    import torch

    from spachc.lang.frontend import parse
    from spachc.model_io.tensors import save_weights
    from spachc.nn.build import build

    spec = parse(SPEC)
    torch.manual_seed(0)
    entries = meta.model_info_entries(meta.ModelInfo(GOOD, ("a", "b", "c")))
    entries[meta.PREPROCESSING] = json.dumps({**GOOD.to_cfg(), **cfg})
    save_weights(build(spec), spec, path, extra=entries)
    return str(path)


def predict(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(spachc_cmd("predict", *args), capture_output=True, env=env(), cwd=REPO, timeout=300)


def test_predict_a_folder_reports_each_bad_file_and_classifies_the_good_ones(images):
    root, folder = images
    model = weights(root / "m.safetensors", GOOD)
    proc = predict(model, str(folder), "--json")
    stderr = proc.stderr.decode()
    assert proc.returncode == 1, stderr
    assert "Traceback" not in stderr and "MemoryError" not in stderr
    report = json.loads(proc.stdout)
    assert [os.path.basename(p["image"]) for p in report["predictions"]] == ["good0.png", "good1.png", "good2.png"]
    codes = {os.path.basename(e["image"]): e["code"] for e in report["errors"]}
    assert codes == {"truncated.png": "E1221", "text.png": "E1221", "bomb.png": "E1250", "strip.png": "E1250"}
    assert "4 of 7 image(s) could not be classified" in stderr
    assert f"error[E1250]: {folder / 'bomb.png'}: refused before decoding: Image size (2500000000 pixels)" in stderr
    text = predict(model, str(folder / "good1.png"), str(folder / "truncated.png"))
    assert text.returncode == 1 and b"good1.png\n  1. " in text.stdout, text.stderr


@pytest.mark.parametrize("std", [float("nan"), float("inf")])
def test_a_non_finite_std_is_a_coded_error_and_json_never_holds_nan(images, tmp_path, std):
    _, folder = images
    model = hostile_weights(tmp_path / "m.safetensors", std=[std])
    proc = predict(model, str(folder / "good0.png"), "--json")
    assert proc.returncode == 1 and b"error[E826]" in proc.stderr and b"finite" in proc.stderr, proc.stderr
    assert b"Traceback" not in proc.stderr
    assert b"NaN" not in proc.stdout and b"nan%" not in proc.stdout


def test_a_huge_recorded_input_size_is_refused_before_allocation(images, tmp_path):
    _, folder = images
    model = hostile_weights(tmp_path / "m.safetensors", input_size=[1, 40_000, 40_000])
    proc = predict(model, str(folder / "good0.png"))
    assert proc.returncode == 1 and b"error[E826]" in proc.stderr and b"40000" in proc.stderr, proc.stderr
    assert b"Traceback" not in proc.stderr


def test_json_is_valid_utf8_with_a_non_utf8_file_name(images, tmp_path):
    root, folder = images
    odd = tmp_path / os.fsdecode(b"caf\xe9.png")
    odd.write_bytes((folder / "good0.png").read_bytes())
    proc = predict(weights(tmp_path / "m.safetensors", GOOD), str(odd), "--json")
    assert proc.returncode == 0, proc.stderr
    report = json.loads(proc.stdout.decode("utf-8"))
    assert report["predictions"][0]["image"].endswith("caf\\xe9.png")


def test_training_skips_a_bad_image_and_counts_it(tmp_path):
    data = write_image_folder(tmp_path / "data")
    good = (data / "train" / "checker" / "000.png").read_bytes()
    (data / "train" / "checker" / "000.png").write_bytes(good[:len(good) // 2])  # truncated
    png_declaring(data / "val" / "hstripes" / "bomb.png", 60_000, 60_000)
    proc = train(write_spec(tmp_path), data, tmp_path / "run", "--epochs", "1", "--workers", "1", *SMALL_RUN)
    assert proc.returncode == 0, proc.stderr
    assert "Traceback" not in proc.stderr
    line = next(line for line in proc.stdout.splitlines() if line.startswith("epoch 1/1  train loss"))
    assert line.endswith("2 bad"), line
    assert "warning: skipped 2 image(s) that cannot be read this epoch" in proc.stdout
    row = json.loads((tmp_path / "run" / "metrics.jsonl").read_text())
    assert row["skipped_images"] == 2 and row["val_images"] == 12
