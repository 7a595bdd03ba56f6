"""The one-liner given to the commands: `check`, `build` and `train` from a file, the spec as text
with `-e`, and `check`, `fmt`, `diff` and the front end never import torch (the defaults
themselves are tests/unit/test_language_defaults.py)."""

from __future__ import annotations
import subprocess
import sys

from support.cli import run_cli
from support.paths import REPO
from support.training import write_image_folder

import spachc

ONE_LINER = "stage conv x2 dim 96 -> down -> stage trans x6"


# --- the command line -------------------------------------------------------------------

def test_the_one_liner_checks_builds_and_trains_from_a_file(tmp_path):
    spec = tmp_path / "one.spach"
    spec.write_text(ONE_LINER + "\n")
    checked = run_cli("check", str(spec))
    assert checked.returncode == 0 and "ok: 1 spec(s) checked, 0 error(s), 0 warning(s)" in checked.stderr
    built = run_cli("build", str(spec))
    assert built.returncode == 0, built.stderr
    assert f"params {spachc.summary(spachc.parse(ONE_LINER)).params:,}" in built.stdout
    assert "(1, 3, 224, 224) -> output (1, 1000)" in built.stdout
    data = write_image_folder(tmp_path / "data", train_per_class=3, val_per_class=1, size=16)
    trained = run_cli("train", str(spec), "--data", str(data), "--out", str(tmp_path / "run"), "--device", "cpu",
                      "--epochs", "1", "--batch-size", "8", "--warmup-epochs", "0", "--cooldown-epochs", "0",
                      "--workers", "0")
    assert trained.returncode == 0, trained.stderr
    assert "classes 3: the spec leaves `classes` to its default" in trained.stdout
    assert (tmp_path / "run" / "last.safetensors").is_file()
    assert spachc.load_model(tmp_path / "run" / "last.safetensors").spec.classes == 3


def test_build_and_check_take_the_spec_as_text():
    built = run_cli("build", "-e", ONE_LINER, "--json")
    assert built.returncode == 0, built.stderr
    assert '"spec_hash": "' + spachc.parse(ONE_LINER, "<-e>").hash in built.stdout
    bad = run_cli("check", "-e", ONE_LINER, "-e", "stage tran x2 dim 8")
    assert bad.returncode == 1
    assert "<-e>:1:7: error[E103]: unknown block kind 'tran'" in bad.stderr
    assert "2 spec(s) checked, 1 error(s)" in bad.stderr
    for args in (("build",), ("build", "hybrid_s", "-e", ONE_LINER), ("check",)):
        neither = run_cli(*args)
        assert neither.returncode == 1 and "error[E008]" in neither.stderr and "Traceback" not in neither.stderr


def test_check_fmt_diff_and_the_front_end_never_import_torch(tmp_path):
    probe = ("import sys, spachc, spachc.lang.options, spachc.lang.kinds, spachc.lang.diffing, spachc.cli.check_cmd, "
             "spachc.cli.fmt_cmd, spachc.cli.diff_cmd\n"
             "spachc.summary(spachc.parse('stage smlp x1, sepconv x1, pool x1, shift x1 dim 24'))\n"
             "print('torch' in sys.modules)")
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, cwd=REPO, timeout=60)
    assert done.stdout.strip() == "False", done.stderr
