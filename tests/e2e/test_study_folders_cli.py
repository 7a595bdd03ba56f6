"""Study folders under attack: what a study reads from disk is checked before it is
used. Sample ids and spec paths never lead outside the study (E1310); edited specs and run
folders swapped or linked from another sample are found by spec hash (E1305); a wrongly
typed, non-JSON or deeply nested study file is one coded error (E1311); a torn last line of
sessions.jsonl is skipped; a study that cannot be written is E1312. Each case escaped as a
traceback (or wrote outside the study) before its fix."""

from __future__ import annotations

import json
import os
import shutil

import pytest
from support.studies import make_study, sweep

from spachc.sweep.report import collect
from spachc.sweep.study import STUDY_FILE, StudyError, load_study

RUN = ["--data", "animals", "--limit-train", "32", "--limit-val", "16", "--recipe", "quick", "--epochs", "1",
       "--batch-size", "16", "--warmup-epochs", "0", "--seeds", "0", "--log-every", "1", "--device", "cpu",
       "--no-throughput"]


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """A study of two samples (conv, trans), each trained for one epoch: copied by each test."""
    study = make_study(tmp_path_factory.mktemp("trained"))
    proc = sweep("run", str(study), *RUN)
    assert proc.returncode == 0, proc.stderr
    return study


@pytest.fixture
def study(trained, tmp_path):
    copy = tmp_path / "study"
    shutil.copytree(trained, copy)
    return copy


def _coded(proc, code: str) -> None:
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert f"error[{code}]" in proc.stderr and "Traceback" not in proc.stderr, proc.stderr


def _edit_study(study, edit) -> None:
    data = json.loads((study / STUDY_FILE).read_text())
    edit(data)
    (study / STUDY_FILE).write_text(json.dumps(data))


# --- sample ids and spec paths stay inside the study (E1310) ---------------------------------

@pytest.mark.parametrize("field, value", [
    ("id", "../../escaped"), ("id", "/tmp/abs"), ("id", "a/b"), ("id", ""), ("id", "x" * 65),
    ("file", "../outside.spach"), ("file", "/etc/passwd"), ("file", "specs/s0000.txt"),
])
def test_a_sample_id_or_file_that_would_leave_the_study_is_E1310(tmp_path, field, value):
    study = make_study(tmp_path)
    _edit_study(study, lambda d: d["samples"][0].__setitem__(field, value))
    with pytest.raises(StudyError) as info:
        load_study(study)
    assert info.value.code == "E1310"


def test_sweep_run_never_writes_outside_the_study(tmp_path):
    study = make_study(tmp_path)
    _edit_study(study, lambda d: d["samples"][0].__setitem__("id", "../../escaped"))
    before = sorted(p.name for p in tmp_path.iterdir())
    _coded(sweep("run", str(study), *RUN), "E1310")
    assert sorted(p.name for p in tmp_path.iterdir()) == before and not (tmp_path.parent / "escaped_seed0").exists()
    assert not (study / "runs").exists() and not (study / "settings.json").exists()


# --- study.json of the wrong shape (E1311) ----------------------------------------------------

@pytest.mark.parametrize("edit", [
    lambda d: d.__setitem__("samples", {"s0000": 1}),
    lambda d: d["samples"][0].__setitem__("params", "many"),
    lambda d: d["samples"][0].__setitem__("choices", {"a": [1]}),
    lambda d: d["samples"][0].__setitem__("hash", 7),
    lambda d: d["samples"].append(dict(d["samples"][0])),  # an id twice: two samples, one run folder
])
def test_a_wrongly_typed_study_json_is_E1311(tmp_path, edit):
    study = make_study(tmp_path)
    _edit_study(study, edit)
    with pytest.raises(StudyError) as info:
        load_study(study)
    assert info.value.code == "E1311"


def test_a_deeply_nested_study_json_is_E1311_not_a_recursion_error(tmp_path):
    study = make_study(tmp_path)
    data = json.loads((study / STUDY_FILE).read_text())
    (study / STUDY_FILE).write_text(json.dumps(data)[:-1] + ', "deep": ' + "[" * 100_000 + "]" * 100_000 + "}")
    _coded(sweep("report", str(study)), "E1311")


# --- edited specs and swapped run folders (E1305) ---------------------------------------------

def test_a_spec_edited_after_training_is_E1305_in_report_and_run(study):
    spec = study / "specs" / "s0000.spach"
    spec.write_text(spec.read_text().replace("dim 16", "dim 24"))
    _coded(sweep("report", str(study)), "E1305")
    _coded(sweep("run", str(study)), "E1305")  # the finished run was skipped without a word before


@pytest.mark.parametrize("how", ["symlink", "copy"])
def test_a_run_folder_of_another_sample_is_E1305(study, how):
    mine, other = study / "runs" / "s0001_seed0", study / "runs" / "s0000_seed0"
    shutil.rmtree(mine)
    if how == "symlink":
        os.symlink(other, mine, target_is_directory=True)
    else:
        shutil.copytree(other, mine)
    with pytest.raises(StudyError) as info:
        collect(load_study(study))  # credited to s0001 before
    assert info.value.code == "E1305" and "s0001" in str(info.value)
    _coded(sweep("run", str(study)), "E1305")


# --- the run files a study reads (E1311), and a torn sessions.jsonl ---------------------------

@pytest.mark.parametrize("name, content", [
    ("settings.json", '{"data": "animals", "recipe": {}, "seeds": "0"}'),
    ("settings.json", '{"data": 5, "recipe": {}, "seeds": [0]}'),
    ("settings.json", "[[[["),
    ("runs/s0000_seed0/result.json", "[]"),
    ("runs/s0000_seed0/result.json", '{"epochs_done": "1", "epochs": 1, "best_top1": 50.0, "last": null}'),
    ("runs/s0000_seed0/result.json", '{"epochs_done": 1, "epochs": 1, "best_top1": 50.0, "last": {"val_top1": null}}'),
    ("runs/s0000_seed0/throughput.json", '{"images_per_s": "fast"}'),
    ("runs/s0000_seed0/throughput.json", "3"),
    ("runs/s0000_seed0/sessions.jsonl", '{"seconds": 1}\nnot json\n{"seconds": 2}\n'),
    ("runs/s0000_seed0/sessions.jsonl", '{"seconds": "1"}\n'),
])
def test_a_wrongly_typed_run_file_is_E1311(study, name, content):
    (study / name).write_text(content)
    _coded(sweep("report", str(study)), "E1311")


def test_a_torn_last_line_of_sessions_is_skipped(study):
    from spachc.sweep.study import session_seconds

    path = study / "runs" / "s0000_seed0" / "sessions.jsonl"
    whole = session_seconds(path)
    assert whole > 0 and path.read_text().endswith("\n")
    with open(path, "a") as f:
        f.write('{"from_epoch": 1, "to_epoch": 2, "sec')  # a crash in the middle of an append
    assert session_seconds(path) == whole
    rows = {r.id: r for r in collect(load_study(study))}
    assert rows["s0000"].train_seconds == round(whole, 3)


# --- a study that cannot be written (E1312) ----------------------------------------------------

def test_a_runs_folder_that_cannot_be_written_is_E1312(tmp_path):
    study = make_study(tmp_path)
    (study / "runs").write_text("not a folder")  # as root, chmod does not stop writes: a file does
    _coded(sweep("run", str(study), *RUN), "E1312")


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes into read-only folders")
def test_a_read_only_runs_folder_is_E1312(tmp_path):
    study = make_study(tmp_path)
    (study / "runs").mkdir()
    (study / "runs").chmod(0o555)
    try:
        _coded(sweep("run", str(study), *RUN), "E1312")
    finally:
        (study / "runs").chmod(0o755)
