"""`spachc sweep run/report`: a study never loses finished work. SIGKILLed at random
points it completes with every run bit-identical to an uninterrupted study; shards and extra
workers running at once into one folder train every run exactly once; the report's numbers
are the run folders' numbers."""

from __future__ import annotations

import csv
import json
import random
import re
import subprocess

import pytest
from PIL import Image
from support.cli import env, spachc_cmd
from support.paths import REPO
from support.studies import RUN_FILES, _content, make_study, run_names, sweep

from spachc.sweep.study import load_study

RUN = ["--data", "animals", "--limit-train", "48", "--limit-val", "20", "--recipe", "quick", "--epochs", "2",
       "--batch-size", "16", "--warmup-epochs", "1", "--ema-decay", "0.9", "--seeds", "0,1", "--log-every", "1",
       "--device", "cpu", "--no-throughput", "--workers", "0"]


def assert_same_runs(a, b) -> None:
    assert run_names(a) == run_names(b)
    for name in run_names(a):
        for f in RUN_FILES:
            assert _content(a / "runs" / name / f) == _content(b / "runs" / name / f), f"{name}/{f} differs"


@pytest.fixture(scope="module")
def baseline(tmp_path_factory):
    root = tmp_path_factory.mktemp("sweep_base")
    study = make_study(root)
    proc = sweep("run", str(study), *RUN)
    assert proc.returncode == 0, proc.stderr
    assert "sweep: trained 4 run(s), 0 already finished" in proc.stdout
    assert "study: 4/4 runs done, 0 left" in proc.stdout and "ETA" in proc.stdout
    return study


def test_sigkill_at_random_points_then_rerun_gives_the_uninterrupted_study(baseline, tmp_path):
    study = make_study(tmp_path)
    rng = random.Random()
    seed = rng.randrange(1 << 30)
    rng.seed(seed)
    kills = 0
    for attempt in range(12):
        proc = subprocess.Popen(spachc_cmd("sweep", "run", str(study), *RUN), stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True, env=env(), cwd=REPO)
        target, lines = rng.randint(2, 14), 0
        for line in proc.stdout:
            lines += line.startswith(("epoch ", "study: "))
            if lines >= target and kills < 2:
                proc.kill()
                kills += 1
                break
        proc.wait(timeout=300)
        if proc.returncode == 0:
            break
        assert proc.returncode == -9, (seed, proc.stderr.read())
    assert proc.returncode == 0 and kills >= 1, f"random seed {seed}"
    assert_same_runs(baseline, study)
    again = sweep("run", str(study), *RUN)
    assert again.returncode == 0 and "sweep: trained 0 run(s), 4 already finished" in again.stdout


def test_two_shards_and_a_third_worker_at_once_train_every_run_exactly_once(baseline, tmp_path):
    study = make_study(tmp_path)
    procs = [subprocess.Popen(spachc_cmd("sweep", "run", str(study), *RUN, *shard), stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True, env=env(), cwd=REPO)
             for shard in (["--shard", "1/2"], ["--shard", "2/2"], [])]
    outputs = [p.communicate(timeout=300) for p in procs]
    assert all(p.returncode == 0 for p in procs), [o[1] for o in outputs]
    assert_same_runs(baseline, study)
    for name in run_names(study):  # one training session per run: no run was trained twice
        sessions = (study / "runs" / name / "sessions.jsonl").read_text().splitlines()
        assert len(sessions) == 1 and json.loads(sessions[0])["from_epoch"] == 0, name
    trained = sum(int(o[0].split("sweep: trained ")[1].split()[0]) for o in outputs)
    assert trained == 4
    assert "this worker: 2 of 2 left" in outputs[0][0] and "this worker: 4 of 4 left" in outputs[2][0]


def test_a_study_keeps_its_settings(baseline):
    proc = sweep("run", str(baseline), "--epochs", "3")
    assert proc.returncode == 1
    assert "error[E1304]" in proc.stderr and "--epochs 2 (now 3)" in proc.stderr and "Traceback" not in proc.stderr
    proc = sweep("run", str(baseline))  # no flags: the study's own settings, nothing left to do
    assert proc.returncode == 0 and "trained 0 run(s), 4 already finished" in proc.stdout


def test_report_numbers_are_the_run_folders_numbers(baseline):
    proc = sweep("report", str(baseline))
    assert proc.returncode == 0, proc.stderr
    study = load_study(baseline)
    expected = {}
    for sample in study.samples:
        results = [json.loads((baseline / "runs" / f"{sample.id}_seed{s}" / "result.json").read_text()) for s in (0, 1)]
        expected[sample.id] = (sum(r["best_top1"] for r in results) / 2, sum(r["last"]["val_top1"] for r in results) / 2,
                               sorted(r["best_top1"] for r in results))
    with open(baseline / "results.csv", newline="") as f:
        rows = {r["id"]: r for r in csv.DictReader(f)}
    assert set(rows) == {"s0000", "s0001"}
    assert rows["s0000"]["family"] == "conv" and rows["s0001"]["family"] == "trans"
    for sid, (best, final, _) in expected.items():
        assert float(rows[sid]["best_top1"]) == pytest.approx(best, abs=1e-9)
        assert float(rows[sid]["final_top1"]) == pytest.approx(final, abs=1e-9)
        assert rows[sid]["status"] == "done" and rows[sid]["seeds_done"] == "2"
        sample = next(s for s in study.samples if s.id == sid)
        assert int(rows[sid]["params"]) == sample.params and int(rows[sid]["macs"]) == sample.macs
    data = json.loads((baseline / "results.json").read_text())
    assert [r["id"] for r in data] == ["s0000", "s0001"] and data[0]["error"] == pytest.approx(100 - expected["s0000"][0])
    report = (baseline / "report.md").read_text()
    ranges = [hi - lo for _, _, (lo, hi) in expected.values()]
    assert f"differs between seeds by {sum(ranges) / 2:.2f} points on average ({max(ranges):.2f} at most)" in report
    # Pareto front by brute force: a sample is on it unless another is no costlier and more accurate.
    for cost in ("macs", "params"):
        on_front = [s.id for s in study.samples
                    if not any(getattr(o, cost) <= getattr(s, cost) and expected[o.id][0] > expected[s.id][0]
                               for o in study.samples)]
        section = report.split(f"top-1 against {'MACs' if cost == 'macs' else cost}\n\n")[1].split("\n")[0]
        names = {s.name: s.id for s in study.samples}  # the report names samples by their spec names
        assert sorted(names[name] for name in re.findall(r"(\S+) \(", section)) == sorted(on_front)
    for name, size in (("edf.png", (360, 300)), ("pareto.png", (960, 380)), ("choices.png", (360, 280))):
        with Image.open(baseline / name) as image:
            assert image.size == size, name
        assert f"![{name}]({name})" in report
