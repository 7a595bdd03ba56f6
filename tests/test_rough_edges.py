"""Issue 15: every rough edge a newcomer hit, one test (or a few) per item."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys

import pytest

import spachc
from spachc.diagnostics import SpecError, UserError
from tests.conftest import REPO, run_cli

# A spec the built-in digits fit (1 channel, 10 classes), small enough for a run of seconds.
DIGITS_TINY = """\
model digits_tiny
input 16 channels 1
classes 10
stem conv1 patch 4
stage conv x1 dim 8
"""


# --- item 1: the bench example of docs/performance.md, and errors that --set causes -----------

def test_documented_bench_example_runs():
    text = (REPO / "docs" / "performance.md").read_text(encoding="utf-8")
    line = next(ln for ln in text.splitlines() if ln.startswith("spachc bench specs/mlp_ms_xxs.spach"))
    args = line.split("#")[0].split()[1:]
    result = run_cli(*args, "--steps", "1", "--warmup", "0")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["results"][0]["mode"] == "train"


def test_an_error_only_set_causes_points_at_the_set_argument():
    with pytest.raises(SpecError) as info:
        spachc.load(REPO / "specs" / "mlp_ms_xxs.spach", overrides=["input=32"])
    (d,) = info.value.diagnostics
    assert d.code == "E305" and d.span.source.name == "--set input=32"
    assert d.render().startswith("--set input=32:1:1: error[E305]")
    (note,) = d.notes  # where the spec says it, valid on its own
    assert note.span.source.name.endswith("mlp_ms_xxs.spach") and (note.span.line, note.span.column) == (6, 34)


# --- item 2: one error per --set, at the --set -------------------------------------------------

@pytest.mark.parametrize("item, message", [("heads=0", "heads must be at least 1, got 0"),
                                           ("dim=0", "dim must be at least 1, got 0")])
def test_a_bad_set_value_is_reported_once_at_the_argument(item, message):
    with pytest.raises(SpecError) as info:
        spachc.load("hybrid_s", overrides=[item])
    (d,) = info.value.diagnostics
    assert (d.code, d.message, d.span.source.name) == ("E302", message, f"--set {item}")


def test_the_spec_own_errors_stay_in_the_spec(tmp_path):
    bad = tmp_path / "bad.spach"
    bad.write_text("input 32\nstem patch 4\nstage conv x1 dim 8 channel_ratio 0\n")
    with pytest.raises(SpecError) as info:
        spachc.load(bad, overrides=["classes=10"])
    (d,) = info.value.diagnostics
    assert d.code == "E303" and d.span.source.name == str(bad) and d.line == 3


# --- item 3: --resume --out DIR alone; a finished run says so ---------------------------------

@pytest.fixture(scope="module")
def stopped_run(tmp_path_factory):
    folder = tmp_path_factory.mktemp("resume")
    spec = folder / "digits_tiny.spach"
    spec.write_text(DIGITS_TINY)
    out = folder / "run"
    proc = run_cli("train", str(spec), "--data", "digits", "--recipe", "quick", "--epochs", "2", "--batch-size",
                   "256", "--stop-after", "1", "--workers", "0", "--device", "cpu", "--out", str(out))
    assert proc.returncode == 0, proc.stderr
    return spec, out


def test_resume_needs_only_the_run_folder(stopped_run):
    _, out = stopped_run
    resumed = run_cli("train", "--resume", "--out", str(out), "--workers", "0", "--device", "cpu")
    assert resumed.returncode == 0, resumed.stderr
    assert f"resuming {out} at epoch 2 step 0" in resumed.stdout
    assert [json.loads(r)["epoch"] for r in (out / "metrics.jsonl").read_text().splitlines()] == [1, 2]
    again = run_cli("train", "--resume", "--out", str(out), "--workers", "0", "--device", "cpu")
    assert again.returncode == 0, again.stderr
    assert "the run is finished (2 of 2 epochs" in again.stdout and "resuming" not in again.stdout


# --- item 4: short runs, and recipe values that cannot work ------------------------------------

def test_a_short_run_of_the_spach_recipe_gets_its_warmup_scaled():
    from spachc.train.recipe import fit_to_run, resolve_recipe
    from spachc.train.schedule import lr_at

    recipe = resolve_recipe("spach", {"epochs": "5"})
    fitted, warning = fit_to_run(recipe, "spach", {"epochs"})
    assert warning.code == "W1001" and warning.severity == "warning"
    assert fitted.warmup_epochs + fitted.cooldown_epochs < fitted.epochs
    steps = 10
    peak = fitted.peak_lr(128)
    assert max(lr_at(s, steps, fitted, peak) for s in range(5 * steps)) == pytest.approx(peak, rel=0.05)
    kept, warning = fit_to_run(resolve_recipe("spach", {"epochs": "5", "warmup_epochs": "20"}), "spach",
                               {"epochs", "warmup_epochs"})
    assert kept.warmup_epochs == 20 and "never holds its peak" in warning.message


@pytest.mark.parametrize("flags", [{"crop_scale": ("1", "0.5")}, {"crop_ratio": ("2", "1")},
                                   {"crop_scale": ("0.5", "1.5")}])
def test_an_inverted_crop_range_is_refused(flags):
    from spachc.train.recipe import RecipeError, resolve_recipe

    with pytest.raises(RecipeError) as info:
        resolve_recipe("quick", flags)
    assert info.value.code == "E1002" and f"--{next(iter(flags)).replace('_', '-')}" in str(info.value)


# --- item 5: weights of another spec, eval of a weights file, state.pt as weights -------------

def test_eval_of_a_weights_file_alone_and_of_a_state(stopped_run):
    spec, out = stopped_run
    alone = run_cli("eval", str(out / "last.safetensors"), "--data", "digits", "--device", "cpu", "--workers", "0",
                    "--json")
    assert alone.returncode == 0, alone.stderr
    state = run_cli("eval", str(spec), "--weights", str(out / "state.pt"), "--data", "digits", "--device", "cpu",
                    "--workers", "0", "--json")
    assert state.returncode == 0, state.stderr
    assert json.loads(state.stdout)["top1"] == json.loads(alone.stdout)["top1"]


def test_weights_of_another_spec_say_what_differs(stopped_run, tmp_path):
    spec, out = stopped_run
    wider = tmp_path / "digits_tiny.spach"  # same name, another architecture
    wider.write_text(DIGITS_TINY.replace("dim 8", "dim 16"))
    for weights in (out / "last.safetensors", out / "state.pt"):
        proc = run_cli("eval", str(wider), "--weights", str(weights), "--data", "digits", "--device", "cpu")
        assert proc.returncode == 1 and "error[E1013]" in proc.stderr, proc.stderr
        assert "= note: stage 1: dim 16 -> 8" in proc.stderr
        hint = re.search(r"= hint: use it with its own spec: (.*)", proc.stderr)[1]
        assert hint == f"spachc eval {weights} --data digits"
    used = run_cli(*hint.split()[1:], "--device", "cpu", "--workers", "0")
    assert used.returncode == 0, used.stderr


# --- item 6: every error has a code -------------------------------------------------------------

def test_export_option_the_spec_cannot_take_has_a_code(tmp_path):
    spec = spachc.parse("model m\ninput 32\nclasses 10\nstem patch 4\nstage mlp x1 dim 8\n")
    with pytest.raises(UserError) as info:
        spachc.export(spec, onnx=tmp_path / "m.onnx", dynamic_size=True)
    assert info.value.code == "E909" and not (tmp_path / "m.onnx").exists()


@pytest.mark.parametrize("args, head", [
    (["inspect", "nosuch.onnx"], "error[E811]: nosuch.onnx: no such file"),
    (["export", "nosuch.safetensors", "--onnx", "x.onnx"], "error[E811]: nosuch.safetensors: no such file"),
    (["check", "nosuch.spach"], "nosuch.spach: error[E006]: no such spec file or zoo name"),
    (["bench", "hybrid_s", "--mode", "fast"], "error[E962]: --mode 'fast'"),
])
def test_errors_without_a_code_now_have_one(args, head, tmp_path):
    result = run_cli(*args, cwd=tmp_path)
    assert result.returncode == 1 and result.stderr.startswith(head), result.stderr


@pytest.mark.skipif(__import__("torch").cuda.is_available(), reason="needs a machine without CUDA")
def test_bench_on_a_missing_cuda_has_the_device_code():
    result = run_cli("bench", "hybrid_s", "--device", "cuda")
    assert result.returncode == 1 and result.stderr.startswith("error[E1008]: --device cuda"), result.stderr


def test_repeat_count_hint_quotes_what_was_written():
    with pytest.raises(SpecError) as info:
        spachc.parse("input 32\nstem patch 4\nstage conv x 2 dim 8\n")
    (d,) = info.value.diagnostics
    assert d.code == "E104" and d.hint == "write it as x2, not x 2"


# --- item 7: --help reads like help, at 80 columns -------------------------------------------------

HELP_PROBE = """
import contextlib, io, sys
from spachc.cli.app import command
cli = command()
for name in sorted(cli.commands):
    buffer = io.StringIO()
    with contextlib.redirect_stdout(buffer):
        try:
            cli([name, "--help"], prog_name="spachc")
        except SystemExit:
            pass
    print("=== " + name)
    print(buffer.getvalue())
"""


@pytest.fixture(scope="module")
def help_pages() -> dict[str, str]:
    env = {**os.environ, "COLUMNS": "80", "TERMINAL_WIDTH": "80"}
    result = subprocess.run([sys.executable, "-c", HELP_PROBE], capture_output=True, text=True, env=env, cwd=REPO)
    assert result.returncode == 0, result.stderr
    pages = dict(re.findall(r"^=== (\S+)\n(.*?)(?=^=== |\Z)", result.stdout, re.S | re.M))
    assert {"train", "export", "eval", "bench", "build"} <= set(pages)
    return pages


def test_help_shows_no_python_types(help_pages):
    for name, page in help_pages.items():
        assert not re.search(r"<(bool|int|float|str|path|list)|\{\w+\}", page), (name, page)
        assert max(len(line) for line in page.splitlines()) <= 80, name


def test_export_and_train_help_are_compact(help_pages):
    assert len(help_pages["export"].splitlines()) <= 55  # 80 lines before issue 15, with 5 options fewer
    assert len(help_pages["train"].splitlines()) <= 90


def test_epoch_summary_fits_80_columns():
    from spachc.train.loop import epoch_line

    worst = {"epoch": 300, "train_loss": 12.3456, "val_loss": 10.1234, "val_top1": 100.0, "val_top5": 100.0,
             "val_top1_ema": 100.0}
    line = epoch_line(worst, 300, best=True)
    assert line.endswith("(best)") and len(line) <= 80, (len(line), line)
    assert line.startswith("epoch 300/300  train loss 12.346  val 10.123  top-1 100.00%")


# --- export publishes in the library ------------------------------------------------------------

def test_library_export_verifies_and_reports(tmp_path):
    spec = spachc.parse("model m\ninput 16\nclasses 3\nstem patch 4\nstage conv x1 dim 8\n")
    report = spachc.export(spec, safetensors=tmp_path / "m.safetensors")
    (published,) = report.files
    assert published.path == tmp_path / "m.safetensors" and published.verification.ok
    assert [c.shape for c in published.verification.cases] == [(1, 3, 16, 16), (3, 3, 16, 16)]
    from spachc.model_io.tensors import load_weights

    assert load_weights(published.path)[0].hash == spec.hash
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.safetensors"]  # no temporary left behind


HYBRID_TINY = """\
model hybrid_tiny
input 32
classes 5
stem conv1 patch 4
stage conv x1 dim 16
-> down -> stage trans x1 dim 32 heads 2
"""


@pytest.mark.parametrize("how", ["classifier", "features"])
def test_cli_and_library_export_give_the_same_figures(tmp_path, how):
    """`spachc export` is only a printer of the library's report: the same spec and seed give
    the same verification figures, line for line, and the same bytes of weights."""
    spec_file = tmp_path / "hybrid_tiny.spach"
    spec_file.write_text(HYBRID_TINY)
    cli_dir, lib_dir = tmp_path / "cli", tmp_path / "lib"
    if how == "features":
        flags, kwargs = ["--features", "--out-indices", "0,1"], {"features": True, "out_indices": (0, 1)}
        outputs = {"onnx": "m.onnx"}
    else:
        flags, kwargs = ["--dtype", "fp16"], {"dtype": "fp16"}
        outputs = {"onnx": "m.onnx", "safetensors": "m.safetensors"}
    args = [part for kind, name in outputs.items() for part in (f"--{kind}", str(cli_dir / name))]
    result = run_cli("export", str(spec_file), *args, *flags)
    assert result.returncode == 0, result.stderr
    report = spachc.export(spec_file, **{kind: lib_dir / name for kind, name in outputs.items()}, **kwargs)

    assert [f.kind for f in report.files] == list(outputs) and all(f.published for f in report.files)
    cli_figures = [line.strip() for line in result.stdout.splitlines() if "max|Δ|" in line]
    lib_figures = [case.describe() for f in report.files for case in f.verification.cases]
    assert len(lib_figures) >= 2 * len(outputs) and cli_figures == lib_figures
    for f in report.files:
        assert f"{f.kind}: {cli_dir / f.path.name} (" in result.stdout and f.details in result.stdout
        for note in f.verification.notes:
            assert note in result.stdout
    if how == "features":
        import onnx

        graph = onnx.load(str(lib_dir / "m.onnx")).graph
        assert [o.name for o in graph.output] == ["stage1", "stage2"]
        backbone = spachc.build(spachc.load(spec_file), features_only=True, out_indices=(0, 1))
        assert report.params == sum(p.numel() for p in backbone.parameters())
    else:
        assert (cli_dir / "m.safetensors").read_bytes() == (lib_dir / "m.safetensors").read_bytes()
    assert sorted(p.name for p in lib_dir.iterdir()) == sorted(outputs.values())  # no temporaries


def test_a_library_export_that_cannot_be_made_fails_before_any_work(tmp_path):
    """Refusals keep their codes and leave nothing behind (a failure after work began carries
    its `.report`: tests/test_int8.py)."""
    spec = spachc.parse(HYBRID_TINY)
    with pytest.raises(UserError) as info:
        spachc.export(spec, onnx=tmp_path / "m.onnx", safetensors=tmp_path / "m.safetensors",
                      weights=tmp_path / "missing.safetensors")
    assert info.value.code == "E1011" and not hasattr(info.value, "report")  # failed before any work
    with pytest.raises(UserError) as info:
        spachc.export(spec, onnx=tmp_path / "m.onnx", safetensors=tmp_path / "m.safetensors", dynamic_size=True,
                      features=True)
    assert info.value.code == "E1204"
    assert list(tmp_path.iterdir()) == []


def test_export_json_is_the_library_report(tmp_path):
    """`spachc export --json` renders the same report as data: every case's figures as numbers."""
    spec_file = tmp_path / "hybrid_tiny.spach"
    spec_file.write_text(HYBRID_TINY)
    result = run_cli("export", str(spec_file), "--onnx", str(tmp_path / "cli.onnx"), "--json", "--seed", "2")
    assert result.returncode == 0, result.stderr
    shown = json.loads(result.stdout)
    report = spachc.export(spec_file, onnx=tmp_path / "lib.onnx", seed=2)
    assert shown["spec_hash"] == report.spec.hash and shown["params"] == report.params
    assert shown["trained"] is False and shown["preprocessing_recorded"] is False
    (file,), (published,) = shown["files"], report.files
    assert file["published"] and file["path"] == str(tmp_path / "cli.onnx")
    assert file["bytes"] == (tmp_path / "cli.onnx").stat().st_size
    cases = [(c["shape"], c["max_abs_diff"], c["limit"], c["ok"]) for c in file["verification"]["cases"]]
    assert cases == [(list(c.shape), c.max_abs_diff, c.tolerance, c.ok) for c in published.verification.cases]
    assert len(cases) == 4  # batch 1 and 3, and both again with the random probe head (zero head)
