"""Recorded preprocessing in process: it round-trips through metadata entries, files written
before it was recorded read with the previous defaults and a note, and model folders and study
files fail the same coded way (folders, `predict` and exports end to end are
tests/e2e/test_model_folder_cli.py)."""

from __future__ import annotations

import json

import pytest

from spachc.model_io import metadata as meta


# --- the metadata module alone (no torch needed) -----------------------------------------------

def test_preprocessing_round_trips_through_metadata_entries():
    pre = meta.Preprocessing((16, 24), 1, (0.3053,), (0.376,), 0.9, "bilinear")
    info = meta.ModelInfo(pre, ("zero", "one"))
    entries = meta.model_info_entries(info)
    assert set(entries) == {meta.PREPROCESSING, meta.LABELS}
    assert json.loads(entries[meta.PREPROCESSING])["input_size"] == [1, 16, 24]
    back = meta.read_model_info(entries, (99, 99), 3, "f")
    assert back == info and back.recorded and back.label(1) == "one" and back.label(7) == "7"


def test_old_files_read_with_previous_defaults_and_a_note():
    legacy = {meta.LEGACY_EVAL_TRANSFORM: json.dumps({"size": [16, 16], "channels": 1, "mean": [0.3053],
                                                       "std": [0.376], "crop_fraction": 1.0})}
    old_checkpoint = meta.read_model_info(legacy, (16, 16), 1, "old.safetensors")
    assert old_checkpoint.recorded and old_checkpoint.preprocessing.mean == (0.3053,)
    assert old_checkpoint.preprocessing.crop_pct == 1.0
    rgb = meta.read_model_info({}, (32, 32), 3, "old.onnx")
    assert not rgb.recorded and "no preprocessing recorded in old.onnx: using 32x32 3-channel" in rgb.note
    assert "written before" not in rgb.note and "--mean 0.485,0.456,0.406 --std 0.229,0.224,0.225" in rgb.note
    assert rgb.preprocessing.mean == meta.IMAGENET_MEAN and rgb.preprocessing.crop_pct == 0.875
    grey = meta.read_model_info({}, (8, 8), 1, "x")
    assert grey.preprocessing.mean == (0.5,) and grey.preprocessing.std == (0.5,)
    with pytest.raises(meta.MetadataError):
        meta.read_model_info({meta.LABELS: "[1, 2]"}, (8, 8), 1, "x")


# --- digits: train, save, predict, eval, export ------------------------------------------------


@pytest.mark.parametrize("content, says", [
    ("{not json", "cannot read it as JSON"),
    ('{"format": "something-else"}', 'not a {what} (its "format" is not'),
    ('{"format": "{format}", "{version_key}": 999}', "{version_key} 999 is not"),
])
def test_model_folder_and_study_files_fail_the_same_coded_way(tmp_path, content, says):
    """One reader (spachc/files/jsonfile.py) for config.json and study.json: each broken file gets its
    own code and a message naming the file and what is wrong."""
    from spachc.model_io.folder import CONFIG, FORMAT, read_config
    from spachc.diagnostics import UserError
    from spachc.sweep.study import STUDY_FILE, STUDY_FORMAT, load_study

    cases = [(read_config, CONFIG, FORMAT, "format_version", "spachc model config", "E1211"),
             (load_study, STUDY_FILE, STUDY_FORMAT, "version", "spachc study file", "E1301")]
    for read, name, fmt, version_key, what, code in cases:
        folder = tmp_path / name.replace(".", "_")
        folder.mkdir()
        (folder / name).write_text(content.replace("{format}", fmt).replace("{version_key}", version_key))
        with pytest.raises(UserError) as info:
            read(folder)
        message = str(info.value)
        assert info.value.code == code and message.startswith(f"{folder / name}: ")
        assert says.replace("{what}", what).replace("{version_key}", version_key) in message
