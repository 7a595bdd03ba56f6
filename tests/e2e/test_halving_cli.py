"""Successive halving in real studies: rungs of complete schedules, promotion of the best 1/eta by
validation top-1, shards that wait only for their rung, the report's per-rung results, compute
and rank correlation, and bad flags as one coded error (the arithmetic is tests/unit/test_halving.py)."""

from __future__ import annotations

import json
import subprocess

import pytest
from support.cli import env, spachc_cmd
from support.paths import REPO
from support.studies import _content, make_study, sweep

from spachc.sweep.ranks import spearman

RUN = ["--data", "animals", "--limit-train", "48", "--limit-val", "20", "--recipe", "quick", "--batch-size", "16",
       "--warmup-epochs", "0", "--seeds", "0", "--log-every", "100", "--device", "cpu", "--no-throughput",
       "--workers", "0"]
HALVING = ["--budgets", "1,2", "--halving", "2"]
FILES = ("last.safetensors", "best.safetensors", "metrics.jsonl", "result.json")


def _best(study, name):
    return json.loads((study / "runs" / name / "result.json").read_text())["best_top1"]


@pytest.fixture(scope="module")
def halved(tmp_path_factory):
    study = make_study(tmp_path_factory.mktemp("halving"), kinds=("conv", "trans", "mlp"))
    proc = sweep("run", str(study), *RUN, *HALVING)
    assert proc.returncode == 0, proc.stderr
    assert "sweep: trained 5 run(s)" in proc.stdout
    # progress counts the rung being trained, not the study's first rung as if it were all of it
    assert "rung 1 of 2: 3/3 runs done, 0 left" in proc.stdout and "rung 2 of 2: 2/2 runs done, 0 left" in proc.stdout
    assert "study: " not in proc.stdout
    return study


def test_the_best_half_goes_on_with_a_complete_schedule_of_its_own(halved, tmp_path):
    runs = sorted(p.name for p in (halved / "runs").iterdir() if p.is_dir())
    first = {sid: _best(halved, f"{sid}_seed0_e1") for sid in ("s0000", "s0001", "s0002")}
    order = sorted(first, key=lambda sid: (-first[sid], sid))
    kept = sorted(order[:2])  # ceil(3 / 2) = 2, ties to the earlier sample
    assert runs == sorted([f"{sid}_seed0_e1" for sid in first] + [f"{sid}_seed0_e2" for sid in kept])
    for sid in kept:  # a rung-2 run is a fresh 2-epoch run, not the 1-epoch one continued
        result = json.loads((halved / "runs" / f"{sid}_seed0_e2" / "result.json").read_text())
        assert result["epochs"] == result["epochs_done"] == 2
    # ... the very run that a plain study of that sample trained for 2 epochs gives, byte for byte
    sid = kept[0]
    plain = make_study(tmp_path, kinds=(("conv", "trans", "mlp")[int(sid[1:])],))
    proc = sweep("run", str(plain), *RUN, "--epochs", "2")
    assert proc.returncode == 0, proc.stderr
    for f in FILES:
        assert _content(plain / "runs" / "s0000_seed0" / f) == _content(halved / "runs" / f"{sid}_seed0_e2" / f), f
    again = sweep("run", str(halved))  # the study's own settings: nothing left to do
    assert again.returncode == 0 and "sweep: trained 0 run(s), 5 already finished" in again.stdout


def test_report_gives_rungs_compute_and_rank_correlation(halved):
    assert sweep("report", str(halved)).returncode == 0
    text = (halved / "report.md").read_text()
    first = {sid: _best(halved, f"{sid}_seed0_e1") for sid in ("s0000", "s0001", "s0002")}
    kept = sorted(sorted(first, key=lambda sid: (-first[sid], sid))[:2])
    second = {sid: _best(halved, f"{sid}_seed0_e2") for sid in kept}
    rho = spearman([first[s] for s in kept], [second[s] for s in kept])
    assert "## Successive halving (eta 2, budgets 1, 2 epochs)" in text
    assert f"| 1 | 1 | 3 | 3 | {max(first.values()):.2f} |" in text
    assert f"| 2 | 2 | 2 | 2 | {max(second.values()):.2f} |" in text
    assert ("—" if rho is None else f"{rho:.3f} (Spearman, 2 samples)") in text.split("| 2 | 2 | 2 | 2 |")[1]
    assert "**Compute**: 7 run-epochs against 6 for every sample at 2 epochs (117%)" in text
    rows = {r["id"]: r for r in json.loads((halved / "results.json").read_text())}
    for sid in first:
        reached = 2 if sid in kept else 1
        assert rows[sid]["epochs"] == reached
        assert rows[sid]["best_top1"] == pytest.approx((second if sid in kept else first)[sid])


def test_shards_wait_for_their_rung_and_train_every_run_once(halved, tmp_path):
    study = make_study(tmp_path, kinds=("conv", "trans", "mlp"))
    procs = [subprocess.Popen(spachc_cmd("sweep", "run", str(study), *RUN, *HALVING, "--shard", shard),
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env(), cwd=REPO)
             for shard in ("1/2", "2/2")]
    outputs = [p.communicate(timeout=300) for p in procs]
    assert all(p.returncode == 0 for p in procs), [o[1] for o in outputs]
    names = sorted(p.name for p in (halved / "runs").iterdir() if p.is_dir())
    assert sorted(p.name for p in (study / "runs").iterdir() if p.is_dir()) == names
    for name in names:  # the same runs as one worker trained, each trained by one process once
        sessions = (study / "runs" / name / "sessions.jsonl").read_text().splitlines()
        assert len(sessions) == 1, name
        for f in FILES:
            assert _content(study / "runs" / name / f) == _content(halved / "runs" / name / f), f"{name}/{f}"
    assert sum(int(o[0].split("sweep: trained ")[1].split()[0]) for o in outputs) == 5


def test_bad_halving_flags_are_one_coded_error(tmp_path):
    study = make_study(tmp_path, kinds=("conv",))
    for flags in (["--budgets", "6,2"], ["--halving", "3"], ["--halving", "1", "--min-epochs", "1",
                                                             "--max-epochs", "4"]):
        proc = sweep("run", str(study), *RUN, *flags)
        assert proc.returncode == 1 and "error[E1322]" in proc.stderr and "Traceback" not in proc.stderr, flags
