"""The library behind the commands: spachc.train(), spachc.evaluate() and spachc.sweep.* do the
work of `spachc train`, `eval` and `sweep`, in-process, and return reports whose figures are
the ones in the files they wrote (and the ones the commands print)."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from support.paths import REPO
from support.training import TINY_SPEC, write_image_folder, write_spec

import spachc
from support.cli import run_cli
from spachc.diagnostics import UserError

DIGITS_SMALL = REPO / "benchmarks" / "digits_small.spach"
ONE_EPOCH = {"recipe": "quick", "epochs": 1, "batch_size": 32, "device": "cpu", "workers": 0, "log_every": 10}


def _metrics(run_dir) -> list[dict]:
    return [json.loads(line) for line in (run_dir / "metrics.jsonl").read_text().splitlines()]


@pytest.fixture(scope="module")
def digits_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("library") / "digits_small"
    return spachc.train(str(DIGITS_SMALL), data="digits", out=out, **ONE_EPOCH)


def test_train_returns_the_figures_of_its_run_folder(digits_run):
    report = digits_run
    result = json.loads((report.run_dir / "result.json").read_text())
    rows = _metrics(report.run_dir)
    assert (report.epochs_done, report.epochs) == (result["epochs_done"], result["epochs"]) == (1, 1)
    assert not report.stopped_early
    assert report.best_top1 == result["best_top1"] == max(r["val_top1"] for r in rows)
    assert report.last == result["last"] == rows[-1]
    assert report.val_top1 == rows[-1]["val_top1"]
    assert (report.spec, report.data, report.classes_fitted) == ("digits_small", "digits", None)
    run = json.loads((report.run_dir / "run.json").read_text())
    assert run["spec_hash"] == report.spec_hash and run["recipe"]["epochs"] == 1
    # the quick recipe's 1-epoch warm-up takes the whole 1-epoch run: fitted, with a warning
    assert [w.code for w in report.warnings] == ["W1001"]
    for name in ("last.safetensors", "best.safetensors", "state.pt"):
        assert (report.run_dir / name).is_file()


def test_evaluate_gives_the_top1_of_spachc_eval(digits_run):
    weights = digits_run.run_dir / "last.safetensors"
    proc = run_cli("eval", str(weights), "--data", "digits", "--json", "--device", "cpu", "--workers", "0")
    assert proc.returncode == 0, proc.stderr
    printed = json.loads(proc.stdout)
    report = spachc.evaluate(weights, data="digits", device="cpu", workers=0)
    assert report.to_dict().keys() == printed.keys()
    assert report.top1 == printed["top1"] and report.images == printed["images"] == 355
    assert report.top1 == pytest.approx(digits_run.last["val_top1"], abs=1e-9)  # the last epoch's validation
    assert report.skipped == () and report.notes == ()


def test_evaluate_refuses_an_unknown_precision_with_its_code(digits_run):
    with pytest.raises(UserError) as info:
        spachc.evaluate(digits_run.run_dir / "last.safetensors", data="digits", dtype="fp8")
    assert info.value.code == "E1016"


def test_train_fits_an_unwritten_classes_to_the_data(tmp_path, capsys):
    folder = write_image_folder(tmp_path / "shapes")  # three classes
    spec = write_spec(tmp_path, TINY_SPEC.replace("classes 3\n", ""), "no_classes.spach")
    report = spachc.train(spec, data=str(folder), out=tmp_path / "run", recipe="quick", epochs=1, batch_size=8,
                          warmup_epochs=0, device="cpu", workers=0)
    assert report.classes_fitted == 3
    assert "classes 3: the spec leaves `classes` to its default" in capsys.readouterr().out
    trained = spachc.parse(json.loads((tmp_path / "run" / "run.json").read_text())["spec"])
    assert trained.classes == 3 and trained.hash == report.spec_hash
    # a spec that writes its classes keeps them: 10 classes do not fit the 3 of the data
    written = write_spec(tmp_path, TINY_SPEC.replace("classes 3", "classes 10"), "ten.spach")
    with pytest.raises(UserError) as info:
        spachc.train(written, data=str(folder), out=tmp_path / "ten", recipe="quick", epochs=1, device="cpu",
                     workers=0)
    assert info.value.code == "E1001"
    assert not (tmp_path / "ten" / "result.json").exists()


TWO_SAMPLE_SPACE = """\
model pair
input 28 channels 1
classes 10
stem conv1 patch 7
stage conv x1 dim {8 | 16}
"""
SWEEP_RUN = {"data": "animals", "limit_train": 48, "limit_val": 20, "recipe": "quick", "epochs": 1,
             "batch_size": 16, "warmup_epochs": 0, "seeds": [0], "device": "cpu", "workers": 0, "log_every": 5,
             "throughput": False}


def test_sweep_functions_sample_run_and_report_a_two_sample_space(tmp_path):
    space = tmp_path / "pair.spach"
    space.write_text(TWO_SAMPLE_SPACE)
    study = tmp_path / "study"
    drawn = spachc.sweep.sample(space, 2, out=study, seed=0)
    assert (drawn.samples, drawn.combinations, drawn.out) == (2, 2, study)
    assert [s["id"] for s in json.loads((study / "study.json").read_text())["samples"]] == ["s0000", "s0001"]

    first = spachc.sweep.run(study, **SWEEP_RUN)
    assert (first.trained, first.skipped_done, first.failed, first.refused) == (2, 0, 0, 0)
    again = spachc.sweep.run(study, **SWEEP_RUN)
    assert (again.trained, again.skipped_done) == (0, 2)

    table = spachc.sweep.report(study)
    assert len(table.rows) == 2 and table.done == 2 and table.markdown == study / "report.md"
    for row in table.rows:
        result = json.loads((study / "runs" / f"{row.id}_seed0" / "result.json").read_text())
        assert row.best_top1 == pytest.approx(result["best_top1"])
    assert json.loads(table.json.read_text())[0]["id"] == "s0000"


def test_sweep_new_and_search(tmp_path):
    listed = spachc.sweep.new([str(DIGITS_SMALL), "hybrid_xs"], out=tmp_path / "listed")
    assert listed.samples == 2 and listed.first_spec.name == "digits_small"
    space = tmp_path / "pair.spach"
    space.write_text(TWO_SAMPLE_SPACE)
    step = spachc.sweep.search(space, 2, out=tmp_path / "searched", population=2)
    assert (step.told, step.asked) == (0, 2)
    assert len(json.loads((tmp_path / "searched" / "study.json").read_text())["samples"]) == 2


def test_the_library_names_do_not_import_torch_until_called():
    probe = ("import sys, spachc\n"
             "names = (spachc.train, spachc.evaluate, spachc.sweep.sample, spachc.sweep.run, spachc.sweep.report,\n"
             "         spachc.sweep.search)\n"
             "print(all(map(callable, names)), 'torch' in sys.modules)\n")
    proc = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, cwd=REPO)
    assert proc.stdout.split() == ["True", "False"], proc.stderr
