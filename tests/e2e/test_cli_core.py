"""The core commands, run as a user runs them: real subprocesses, real files."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
import torch
from safetensors import safe_open
from support.cli import run_cli

import spachc

SMALL = "# tiny\nmodel tiny\ninput 32\nclasses 10\nstem patch 4\nstage conv x1 dim 8 -> down -> stage trans x2 heads 2\n"


def test_check_passes_a_good_spec_and_fails_a_bad_one(tmp_path):
    good, bad = tmp_path / "good.spach", tmp_path / "bad.spach"
    good.write_text(SMALL)
    bad.write_text(SMALL.replace("trans x2", "tran x2"))
    ok = run_cli("check", str(good), "hybrid_s")
    assert ok.returncode == 0 and "2 spec(s) checked, 0 error(s)" in ok.stderr
    failed = run_cli("check", str(good), str(bad))
    assert failed.returncode == 1
    assert f"{bad}:6:38: error[E103]: unknown block kind 'tran'" in failed.stderr
    assert "did you mean 'trans'?" in failed.stderr
    assert "Traceback" not in failed.stderr


def test_check_json_for_editors(tmp_path):
    bad = tmp_path / "bad.spach"
    bad.write_text("input 30\nstem patch 4\nstage trans x1 dim 8 heads 3\n")
    result = run_cli("check", "--format", "json", str(bad))
    assert result.returncode == 1
    items = json.loads(result.stdout)
    assert [(i["code"], i["line"], i["column"]) for i in items] == [("E401", 1, 7), ("E404", 3, 22)]


def test_check_and_fmt_do_not_import_torch(tmp_path):
    spec = tmp_path / "a.spach"
    spec.write_text(SMALL)
    probe = (
        "import sys\n"
        "from spachc.cli.app import app\n"
        "for args in (['check', sys.argv[1]], ['fmt', '--check', sys.argv[1]]):\n"
        "    try:\n"
        "        app(args)\n"
        "    except SystemExit:\n"
        "        pass\n"
        "print('torch' in sys.modules)\n"
    )
    result = subprocess.run([sys.executable, "-c", probe, str(spec)], capture_output=True, text=True)
    assert result.stdout.strip().splitlines()[-1] == "False", result.stdout + result.stderr


def test_fmt_rewrites_and_check_mode_reports(tmp_path):
    messy = tmp_path / "messy.spach"
    messy.write_text("stage conv x1   dim 8 # c\ninput 32 stem patch 4\n")
    check = run_cli("fmt", "--check", str(messy))
    assert check.returncode == 1 and f"would reformat {messy}" in check.stderr
    assert messy.read_text() == "stage conv x1   dim 8 # c\ninput 32 stem patch 4\n"
    assert run_cli("fmt", str(messy)).returncode == 0
    assert messy.read_text() == "input 32\nstem conv1 patch 4\n\nstage conv x1 dim 8  # c\n"
    again = run_cli("fmt", "--check", str(messy))
    assert again.returncode == 0 and "0 file(s) would reformat" in again.stderr


def test_build_prints_the_summary_and_writes_initial_weights(tmp_path):
    spec = tmp_path / "tiny.spach"
    spec.write_text(SMALL)
    out = tmp_path / "init.safetensors"
    result = run_cli("build", str(spec), "-o", str(out))
    assert result.returncode == 0, result.stderr
    parsed = spachc.load(spec)
    params = spachc.summary(parsed).params
    assert f"params {params:,}" in result.stdout
    assert "(1, 3, 32, 32) -> output (1, 10)" in result.stdout
    assert parsed.hash in result.stdout
    with safe_open(str(out), framework="pt") as f:
        meta = f.metadata()
        total = sum(f.get_tensor(k).numel() for k in f.keys() if "running" not in k)
    assert meta["spachc.spec_hash"] == parsed.hash
    assert spachc.parse(meta["spachc.spec"]) == parsed
    assert total == params


def test_build_json_and_overrides():
    result = run_cli("build", "trans_ms_xxs", "--set", "classes=10", "--set", "input=64", "--json")
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["spec"]["classes"] == 10 and data["spec"]["input"] == [64, 64]
    assert data["spec"]["stages"][0]["grid"] == [16, 16]
    expected = spachc.summary(spachc.load("trans_ms_xxs", overrides=["classes=10", "input=64"]))
    assert data["summary"]["params"] == expected.params and data["summary"]["macs"] == expected.macs


def test_build_rejects_unknown_override_keys_with_a_hint():
    result = run_cli("build", "hybrid_s", "--set", "clases=10")
    assert result.returncode == 1
    assert "error[E601]: unknown --set key 'clases'" in result.stderr
    assert "did you mean 'classes'?" in result.stderr


def test_build_refuses_absurd_sizes_before_allocating():
    result = run_cli("build", "hybrid_s", "--set", "dim=1000000", timeout=60)
    assert result.returncode == 1
    assert "error[E701]" in result.stderr and "--max-params" in result.stderr
    assert "Traceback" not in result.stderr


def test_zoo_lists_every_spec():
    result = run_cli("zoo", "--json")
    rows = {r["name"]: r for r in json.loads(result.stdout)}
    assert len(rows) == 21
    assert rows["hybrid_s"]["params"] == 63_028_584 and rows["hybrid_s"]["macs"] == 11_050_933_248


def test_import_upstream_converts_an_official_checkpoint(tmp_path, fixtures):
    from safetensors.torch import load_file

    spec_path = fixtures / "ms_hybrid_small.spach"
    ckpt = tmp_path / "official.pth"
    torch.save({"model": load_file(fixtures / "ms_hybrid_small.upstream.safetensors"), "epoch": 299}, ckpt)
    out = tmp_path / "converted.safetensors"
    result = run_cli("import-upstream", str(spec_path), str(ckpt), "-o", str(out))
    assert result.returncode == 0, result.stderr
    from spachc import load_model

    model = load_model(out).eval()
    io = load_file(fixtures / "ms_hybrid_small.io.safetensors")
    with torch.no_grad():
        logits = model(io["input"])
    assert ((logits - io["output"]).norm() / io["output"].norm()) <= 1e-5


def test_import_upstream_refuses_a_checkpoint_of_another_spec(tmp_path, fixtures):
    from safetensors.torch import load_file

    ckpt = tmp_path / "official.pth"
    torch.save({"model": load_file(fixtures / "ss_mlp_small.upstream.safetensors")}, ckpt)
    result = run_cli("import-upstream", str(fixtures / "ms_hybrid_small.spach"), str(ckpt), "-o",
                     str(tmp_path / "x.safetensors"))
    assert result.returncode == 1
    assert "missing keys" in result.stderr and "unexpected keys" in result.stderr
    assert not (tmp_path / "x.safetensors").exists()


def test_import_upstream_never_unpickles_code(tmp_path, fixtures):
    import argparse

    ckpt = tmp_path / "evil.pth"  # any non-tensor object needs full unpickling, which could run code
    torch.save({"model": {}, "payload": argparse.Namespace(command="rm -rf /")}, ckpt)
    result = run_cli("import-upstream", str(fixtures / "ss_mlp_small.spach"), str(ckpt), "-o",
                     str(tmp_path / "x.safetensors"))
    assert result.returncode == 1 and "error[E802]" in result.stderr


@pytest.mark.parametrize("args", [["build", "no_such_model"], ["check", "hybrid_z"]])
def test_unknown_spec_names_get_a_hint(args):
    result = run_cli(*args)
    assert result.returncode == 1
    assert "E006" in result.stderr and "Traceback" not in result.stderr


def test_import_upstream_says_when_a_file_is_not_a_checkpoint(tmp_path, fixtures):
    junk = tmp_path / "junk.pth"
    junk.write_bytes(bytes(range(7, 250)) * 10)
    result = run_cli("import-upstream", str(fixtures / "ss_mlp_small.spach"), str(junk), "-o",
                     str(tmp_path / "x.safetensors"))
    assert result.returncode == 1
    assert "error[E803]" in result.stderr and "not a PyTorch checkpoint" in result.stderr
