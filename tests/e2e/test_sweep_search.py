"""`spachc sweep search`: NSGA-II (real Optuna, journal in the study folder)
over a space's choices; trials are ordinary samples that `sweep run` trains, told their
objective values from the run folders; `where` and validity stay constraints."""

from __future__ import annotations

import json

import pytest
from support.studies import sweep

from spachc.lang.frontend import load
from spachc.sweep.study import load_study

optuna = pytest.importorskip("optuna")  # in the test extra; spachc itself runs without it

SPACE = """\
model tiny
input 28 channels 1
classes 10
stem conv1 patch 7
choose family {conv | trans | mlp}
stage $family x{1..2} dim {16 | 24 | 32}
where params <= 60K
"""
RUN = ["--data", "animals", "--limit-train", "48", "--limit-val", "20", "--recipe", "quick", "--epochs", "1",
       "--batch-size", "16", "--warmup-epochs", "0", "--seeds", "0", "--log-every", "100", "--device", "cpu",
       "--no-throughput", "--workers", "0"]


def _trials(study_dir):
    from optuna.storages import JournalStorage
    from optuna.storages.journal import JournalFileBackend

    storage = JournalStorage(JournalFileBackend(str(study_dir / "search.journal")))
    return optuna.load_study(study_name="spachc", storage=storage).trials


def test_search_asks_samples_sweep_run_trains_them_and_the_next_step_tells_results(tmp_path):
    space = tmp_path / "tiny.spach"
    space.write_text(SPACE)
    study_dir = tmp_path / "search"
    args = ["search", str(space), "--objectives", "top1,macs", "--population", "4", "-o", str(study_dir)]
    proc = sweep(*args, "-n", "4")
    assert proc.returncode == 0, proc.stderr
    study = load_study(study_dir)
    assert len(study.samples) == 4 and len({s.hash for s in study.samples}) == 4
    for s in study.samples:  # each an ordinary, valid spec inside `where`
        spec = load(study_dir / s.file)
        assert spec.hash == s.hash and s.params <= 60_000
    asked = {t.user_attrs["sample"]: t for t in _trials(study_dir) if "sample" in t.user_attrs}
    assert sorted(asked) == [s.id for s in study.samples]
    for s in study.samples:  # the trial's parameters are the sample's choices
        assert asked[s.id].params["family"] == s.choices["family"]
    assert sweep(*args, "-n", "4").stdout.count("asked 0 new") == 1  # the study already holds 4
    assert sweep("run", str(study_dir), *RUN).returncode == 0
    proc = sweep(*args, "-n", "7")
    assert proc.returncode == 0, proc.stderr
    assert "told 4 finished trial(s)" in proc.stdout
    trials = _trials(study_dir)
    by_sample = {t.user_attrs["sample"]: t for t in trials if "sample" in t.user_attrs}
    for s in study.samples:
        result = json.loads((study_dir / "runs" / f"{s.id}_seed0" / "result.json").read_text())
        assert by_sample[s.id].state.name == "COMPLETE"
        assert by_sample[s.id].values == [pytest.approx(result["best_top1"]), s.macs]
    grown = load_study(study_dir)
    assert len(grown.samples) == 7 and len({s.hash for s in grown.samples}) == 7
    assert all(by_sample[s.id].state.name == "RUNNING" for s in grown.samples[4:])  # told after their runs
    rejected = [t for t in trials if t.state.name == "FAIL"]
    assert all(t.user_attrs["rejected"] in ("invalid", "outside where", "duplicate") for t in rejected)


def test_bad_objectives_and_foreign_folders_are_coded_errors(tmp_path):
    space = tmp_path / "tiny.spach"
    space.write_text(SPACE)
    proc = sweep("search", str(space), "-n", "2", "--objectives", "top1,speed", "-o", str(tmp_path / "a"))
    assert proc.returncode == 1 and "error[E1326]" in proc.stderr and "Traceback" not in proc.stderr
    assert sweep("sample", str(space), "-n", "2", "-o", str(tmp_path / "b")).returncode == 0
    proc = sweep("search", str(space), "-n", "3", "-o", str(tmp_path / "b"))
    assert proc.returncode == 1 and "error[E1326]" in proc.stderr
    assert sweep("search", str(space), "-n", "2", "--objectives", "top1,params", "-o", str(tmp_path / "c")).returncode == 0
    proc = sweep("search", str(space), "-n", "2", "--objectives", "top1,macs", "-o", str(tmp_path / "c"))
    assert proc.returncode == 1 and "error[E1326]" in proc.stderr and "top1,params" in proc.stderr
