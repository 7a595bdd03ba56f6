"""Rough edges a newcomer hit, at the command line: the documented bench example runs, `--resume`
needs only the run folder, `eval` takes a weights file alone or a state, weights of another
spec say what differs, every error has a code, `--help` reads like help at 80 columns, and
`spachc export` prints the library's report (the same edges in process are
tests/unit/test_usability.py)."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys

import pytest
from support.cli import run_cli
from support.paths import REPO

import spachc

# A spec the built-in digits fit (1 channel, 10 classes), small enough for a run of seconds.
DIGITS_TINY = """\
model digits_tiny
input 16 channels 1
classes 10
stem conv1 patch 4
stage conv x1 dim 8
"""


# --- the bench example of docs/performance.md -----------------------------------------------------

def test_documented_bench_example_runs():
    text = (REPO / "docs" / "performance.md").read_text(encoding="utf-8")
    line = next(ln for ln in text.splitlines() if ln.startswith("spachc bench specs/mlp_ms_xxs.spach"))
    args = line.split("#")[0].split()[1:]
    result = run_cli(*args, "--steps", "1", "--warmup", "0")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["results"][0]["mode"] == "train"


# --- --resume --out DIR alone; a finished run says so ---------------------------------------------

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


# --- weights of another spec, eval of a weights file, state.pt as weights -------------------------

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


# --- every error has a code -----------------------------------------------------------------------

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


# --- --help reads like help, at 80 columns --------------------------------------------------------

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
    assert len(help_pages["export"].splitlines()) <= 55  # 80 lines once, with 5 options fewer
    assert len(help_pages["train"].splitlines()) <= 90


# --- export publishes in the library: the CLI prints its report -----------------------------------

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
