"""Robust studies and honest reports: samples that cannot train are named up
front and recorded as failed with their coded error, a run that fails while training does not
stop the study, `--set` on `sweep new/run`, `sweep sample --stratify`, the run hint,
readable choice names and spec names in the report, and a note for a family with no sample.
Every expectation comes from the files a real `spachc` subprocess wrote."""

from __future__ import annotations

import collections
import csv
import json

from support.studies import SPECS, sweep

from spachc.lang.frontend import load
from spachc.sweep.stratify import shares
from spachc.sweep.study import load_study

RUN = ["--data", "animals", "--limit-train", "48", "--limit-val", "20", "--recipe", "quick", "--epochs", "1",
       "--batch-size", "16", "--warmup-epochs", "0", "--seeds", "0", "--log-every", "1", "--device", "cpu",
       "--no-throughput", "--workers", "0"]

TINY_SPACE = """\
model tiny
input 28 channels 1
classes 10
stem conv1 patch 7
choose family {conv | trans | mlp}
stage $family x1 dim {16 | 24 | 32}
"""


def _new(tmp_path, names, *extra):
    files = []
    for name in names:
        if name in SPECS:
            (tmp_path / f"{name}.spach").write_text(SPECS[name])
            files.append(str(tmp_path / f"{name}.spach"))
        else:
            files.append(name)  # a zoo name
    study = tmp_path / "study"
    proc = sweep("new", *files, "-o", str(study), *extra)
    assert proc.returncode == 0, proc.stderr
    return study


def test_a_sample_that_cannot_train_is_named_up_front_and_the_rest_train(tmp_path):
    study = _new(tmp_path, ["conv", "conv_ms_xxs", "mlp"])  # the zoo spec has 1000 classes; animals has 10
    proc = sweep("run", str(study), *RUN)
    assert proc.returncode == 0, proc.stderr
    refusal = proc.stdout.index("s0001 (conv_ms_xxs): cannot train with this study's data and recipe: error[E1001]")
    assert refusal < proc.stdout.index("s0000_seed0 (t_conv): training")  # before anything trained
    assert "--set classes=10" in proc.stdout  # the reason says how to fix it
    assert "sweep: trained 2 run(s), 0 already finished" in proc.stdout and "1 refused before training" in proc.stdout
    record = json.loads((study / "runs" / "s0001_seed0" / "failed.json").read_text())
    assert record["error"] == "E1001" and record["stage"] == "check" and "1000" in record["message"]
    assert not (study / "runs" / "s0001_seed0" / "state.pt").exists()
    again = sweep("run", str(study))  # nothing pending forever: the rerun has nothing left to do
    assert again.returncode == 0 and "sweep: trained 0 run(s), 2 already finished" in again.stdout
    report = sweep("report", str(study))
    assert report.returncode == 0, report.stderr
    with open(study / "results.csv", newline="") as f:
        rows = {r["id"]: r for r in csv.DictReader(f)}
    assert [rows[i]["status"] for i in ("s0000", "s0001", "s0002")] == ["done", "failed", "done"]
    assert rows["s0001"]["failures"].startswith("0:refused before training: error[E1001]: spec 'conv_ms_xxs'")
    text = (study / "report.md").read_text()
    assert "1 failed: see Failures" in text
    failures = text.split("## Failures")[1]
    assert "- conv_ms_xxs (s0001), seed 0: refused before training: error[E1001]" in failures
    assert "t_conv" not in failures and "t_mlp" not in failures
    table = text.split("## All samples (by best top-1)")[1]
    assert "| t_conv |" in table and "| conv_ms_xxs |" in table and "| s0000 |" not in table
    assert "No sample of family trans" in text and "--stratify family" in text


def test_a_run_that_fails_while_training_is_recorded_and_the_study_goes_on(tmp_path):
    study = _new(tmp_path, ["conv", "mlp"])
    broken = study / "runs" / "s0000_seed0"
    broken.mkdir(parents=True)
    (broken / "state.pt").write_bytes(b"not a checkpoint")  # a run whose checkpoint cannot be read
    proc = sweep("run", str(study), *RUN)
    assert proc.returncode == 0, proc.stderr
    assert "s0000_seed0: failed, error[E1003]" in proc.stdout and "Traceback" not in proc.stderr
    assert "1 failed while training, 0 refused" in proc.stdout
    record = json.loads((broken / "failed.json").read_text())
    assert record["error"] == "E1003" and record["stage"] == "train"
    assert json.loads((study / "runs" / "s0001_seed0" / "result.json").read_text())["epochs_done"] == 1
    assert sweep("report", str(study)).returncode == 0
    assert "- t_conv (s0000), seed 0: error[E1003]" in (study / "report.md").read_text()


def test_set_on_sweep_new_and_run(tmp_path):
    study = _new(tmp_path, ["conv_ms_xxs"], "--set", "classes=10")
    spec = load(study / load_study(study).samples[0].file)
    assert spec.classes == 10 and spec.name == "conv_ms_xxs"
    five = tmp_path / "five"
    five.mkdir()
    (five / "conv.spach").write_text(SPECS["conv"].replace("classes 10", "classes 5"))
    proc = sweep("new", str(five / "conv.spach"), "-o", str(five / "study"))
    assert proc.returncode == 0, proc.stderr
    proc = sweep("run", str(five / "study"), *RUN, "--set", "classes=10")
    assert proc.returncode == 0, proc.stderr
    assert "trained 1 run(s)" in proc.stdout and "0 refused" in proc.stdout
    assert json.loads((five / "study" / "settings.json").read_text())["set"] == ["classes=10"]
    assert "\nclasses 10\n" in json.loads((five / "study" / "runs" / "s0000_seed0" / "run.json").read_text())["spec"]
    other = sweep("run", str(five / "study"), "--set", "classes=7")
    assert other.returncode == 1 and "error[E1304]" in other.stderr and "--set" in other.stderr


def test_stratify_gives_equal_counts_per_value(tmp_path):
    space = tmp_path / "tiny.spach"
    space.write_text(TINY_SPACE)
    assert shares(7, 3) == [3, 2, 2] and shares(6, 3) == [2, 2, 2]
    for n, want in ((6, [2, 2, 2]), (7, [3, 2, 2])):  # enumerated: 9 combinations
        out = tmp_path / f"s{n}"
        proc = sweep("sample", str(space), "-n", str(n), "--stratify", "family", "-o", str(out))
        assert proc.returncode == 0, proc.stderr
        study = load_study(out)
        counts = collections.Counter(s.choices["family"] for s in study.samples)
        assert [counts[f] for f in ("conv", "trans", "mlp")] == want
        assert len({s.hash for s in study.samples}) == n
    too_many = sweep("sample", str(space), "-n", "10", "--stratify", "family", "-o", str(tmp_path / "x"))
    assert too_many.returncode == 1 and "error[E1307]" in too_many.stderr and "family = conv" in too_many.stderr
    battle = tmp_path / "battle"  # a space too large to enumerate: rejection with the choice fixed
    proc = sweep("sample", "battle", "-n", "6", "--stratify", "family", "-o", str(battle))
    assert proc.returncode == 0, proc.stderr
    counts = collections.Counter(s.choices["family"] for s in load_study(battle).samples)
    assert counts == {"conv": 2, "trans": 2, "mlp": 2}
    assert "--data animals --recipe quick" in proc.stdout  # the hint names data and a recipe that fit
    unknown = sweep("sample", str(space), "-n", "3", "--stratify", "colour", "-o", str(tmp_path / "y"))
    assert unknown.returncode == 1 and "error[E1320]" in unknown.stderr and "family" in unknown.stderr
    assert "Traceback" not in unknown.stderr
