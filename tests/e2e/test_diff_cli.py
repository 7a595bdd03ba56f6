"""`spachc diff` as a user runs it: architectures compared, not texts; REV:path from git; the git
diff driver; and the command never imports torch (the engine is tests/unit/test_diff.py)."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from support.cli import run_cli
from support.paths import REPO

import spachc
from spachc.lang.diffing import GitReadError, diff_specs, load_side, split_revision

HYBRID_S = (REPO / "specs" / "hybrid_s.spach").read_text()

# The same network as specs/hybrid_s.spach, written differently: other name, comments,
# one-line pipeline, defaults spelled out per stage, numbers in other forms.
HYBRID_S_REWRITTEN = """\
# a reviewer's copy
model   renamed_hybrid   input 224x224 channels 3
stem patch 4   classes 1000 drop_path 0.10
stage conv x3 dim 128 channel_ratio 3.0 token_ratio 0.5 -> down -> stage conv x2, trans x2 dim 256 heads 4 channel_ratio 3
  -> down -> stage conv x2, trans x10 heads 4 channel_ratio 3 layerscale 1e-4 qkv_bias on
  -> down -> stage conv x1, trans x2 dim 1024 heads 4 channel_ratio 3 cpe on  # last stage
"""

TINY = """\
model tiny
input 32
classes 10
stem patch 4
defaults heads 2
stage conv x1 dim 16
-> down -> stage conv x1, trans x1
"""


def test_reformatted_copy_is_the_same_architecture(tmp_path):
    copy = tmp_path / "copy.spach"
    copy.write_text(HYBRID_S_REWRITTEN)
    assert copy.read_text() != HYBRID_S
    result = run_cli("diff", "specs/hybrid_s.spach", str(copy))
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("same architecture (named hybrid_s and renamed_hybrid)")
    assert "63,028,584 params" in result.stdout
    d = diff_specs(spachc.load("hybrid_s"), spachc.load(copy))
    assert d.same and d.params_delta == 0 and all(p.status == "same" for p in d.parts)


def test_cli_prints_the_stage_table_and_exits_1():
    result = run_cli("diff", "hybrid_xs", "hybrid_s")
    assert result.returncode == 1, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].startswith("architecture: hybrid_xs (cc095aadd098) -> hybrid_s (52238b8f438d)")
    total = next(line for line in lines if line.lstrip().startswith("total"))
    assert total.split()[1:4] == ["27,956,584", "63,028,584", "+35,072,000"]
    assert "      blocks   conv x4 -> conv x2, trans x2 (changed conv -> trans x2)" in lines
    assert any(line.startswith("      changes  dim 96 -> 128; channel_ratio 2 -> 3") for line in lines)


def test_json_output(tmp_path):
    result = run_cli("diff", "hybrid_xs", "hybrid_s", "--json")
    assert result.returncode == 1
    data = json.loads(result.stdout)
    assert data["same"] is False and data["params_delta"] == 35_072_000
    assert [p["status"] for p in data["parts"]] == ["changed"] * 6
    assert data["parts"][2]["block_changes"] == ["changed conv -> trans x2"]


def test_a_bad_side_is_trouble_with_one_clear_message(tmp_path):
    bad = tmp_path / "bad.spach"
    bad.write_text(TINY.replace("conv x1 dim", "cnv x1 dim"))
    result = run_cli("diff", str(bad), "hybrid_s")
    assert result.returncode == 2
    assert "error[" in result.stderr and "did you mean 'conv'?" in result.stderr
    assert "Traceback" not in result.stderr and result.stdout == ""
    result = run_cli("diff", "hybrid_s")
    assert result.returncode == 2 and "takes two specs (A B), got 1: hybrid_s" in result.stderr
    result = run_cli("diff", "a", "b", "c")
    assert result.returncode == 2 and "takes two specs (A B), got 3" in result.stderr
    result = run_cli("diff", *["hybrid_s"] * 7)  # git's seven driver arguments count only when git runs it
    assert result.returncode == 2 and "got 7" in result.stderr


@pytest.fixture
def git_repo(tmp_path) -> Path:
    if shutil.which("git") is None:
        pytest.skip("git is not installed")
    repo = tmp_path / "repo"
    repo.mkdir()

    def git(*args):
        subprocess.run(["git", *args], cwd=repo, check=True, capture_output=True)

    git("init", "-q", "-b", "main")
    git("config", "user.email", "t@example.com")
    git("config", "user.name", "t")
    (repo / "specs").mkdir()
    (repo / "specs" / "tiny.spach").write_text(TINY)
    git("add", ".")
    git("commit", "-q", "-m", "v1")
    (repo / "specs" / "tiny.spach").write_text(TINY.replace("dim 16", "dim 32"))
    git("commit", "-q", "-am", "v2: wider")
    return repo


def test_rev_path_reads_from_git(git_repo):
    result = run_cli("diff", "HEAD~1:specs/tiny.spach", "specs/tiny.spach", cwd=git_repo)
    assert result.returncode == 1, result.stderr
    assert "architecture: HEAD~1:specs/tiny.spach" in result.stdout
    assert "changes  dim 16 -> 32" in result.stdout
    result = run_cli("diff", "HEAD:specs/tiny.spach", "specs/tiny.spach", cwd=git_repo)
    assert result.returncode == 0 and result.stdout.startswith("same architecture")
    (git_repo / "specs" / "tiny.spach").write_text(TINY.replace("dim 16", "dim 24"))
    subprocess.run(["git", "add", "specs/tiny.spach"], cwd=git_repo, check=True)
    result = run_cli("diff", "HEAD:specs/tiny.spach", ":specs/tiny.spach", cwd=git_repo)  # `:path` is the index
    assert result.returncode == 1 and "changes  dim 32 -> 24" in result.stdout
    result = run_cli("diff", "HEAD~5:specs/tiny.spach", "specs/tiny.spach", cwd=git_repo)
    assert result.returncode == 2
    assert result.stderr.startswith("error[E953]: HEAD~5:specs/tiny.spach: git cannot read it: fatal:")
    result = run_cli("diff", "HEAD:specs/missing.spach", "specs/tiny.spach", cwd=git_repo)
    assert result.returncode == 2 and "does not exist in 'HEAD'" in result.stderr
    result = run_cli("diff", "HEAD:specs", "specs/tiny.spach", cwd=git_repo)
    assert result.returncode == 2
    assert result.stderr == "error[E953]: HEAD:specs: git cannot read it: 'specs' is not a file in HEAD (a directory?)\n\n"


def test_a_path_on_disk_wins_over_rev_path(git_repo, monkeypatch):
    monkeypatch.chdir(git_repo)
    (git_repo / "HEAD~1:specs").mkdir()
    (git_repo / "HEAD~1:specs" / "tiny.spach").write_text(TINY.replace("dim 16", "dim 8"))
    assert split_revision("HEAD~1:specs/tiny.spach") is None
    assert load_side("HEAD~1:specs/tiny.spach").stages[0].dim == 8
    assert split_revision("HEAD~1:specs/other.spach") == ("HEAD~1", "specs/other.spach")
    assert load_side("HEAD:specs/tiny.spach").stages[0].dim == 32
    with pytest.raises(GitReadError, match="HEAD~1:specs/other.spach: git cannot read it"):
        load_side("HEAD~1:specs/other.spach")


def test_rev_path_outside_a_git_repository(tmp_path):
    result = run_cli("diff", "HEAD:tiny.spach", "hybrid_s", cwd=tmp_path, env={"GIT_CEILING_DIRECTORIES": str(tmp_path.parent)})
    assert result.returncode == 2
    assert "not a git repository" in result.stderr and "Traceback" not in result.stderr


def test_git_diff_driver(git_repo):
    """The documented set-up, with real `git diff` and `git log -p --ext-diff`."""
    (git_repo / ".gitattributes").write_text("*.spach diff=spach\n")
    command = f"{sys.executable} -m spachc diff"
    subprocess.run(["git", "config", "diff.spach.command", command], cwd=git_repo, check=True)
    spec = git_repo / "specs" / "tiny.spach"
    spec.write_text(TINY.replace("dim 16", "dim 32").replace("classes 10", "classes 5"))

    shown = subprocess.run(["git", "diff"], cwd=git_repo, capture_output=True, text=True)
    assert shown.returncode == 0, shown.stderr
    assert shown.stdout.startswith("diff --spachc a/specs/tiny.spach b/specs/tiny.spach\narchitecture: a/specs/tiny.spach")
    assert "changes  classes 10 -> 5" in shown.stdout
    assert "-classes 10\n+classes 5\n" in shown.stdout  # the text diff follows

    logged = subprocess.run(["git", "log", "-p", "--ext-diff", "-1"], cwd=git_repo, capture_output=True, text=True)
    assert logged.returncode == 0, logged.stderr
    assert "changes  dim 16 -> 32" in logged.stdout

    spec.write_text("# only a comment changed\n" + TINY.replace("dim 16", "dim 32"))
    shown = subprocess.run(["git", "diff"], cwd=git_repo, capture_output=True, text=True)
    assert shown.returncode == 0 and "\nsame architecture: " in shown.stdout
    assert "+# only a comment changed" in shown.stdout

    spec.write_text(TINY.replace("dim 16", "dimm 32"))  # a broken spec still gets its text diff
    shown = subprocess.run(["git", "diff"], cwd=git_repo, capture_output=True, text=True)
    assert shown.returncode == 0, shown.stderr
    assert "cannot compare architectures: " in shown.stdout and "error[E" in shown.stdout
    assert "+stage conv x1 dimm 32\n" in shown.stdout

    (git_repo / "specs" / "new.spach").write_text(TINY)
    subprocess.run(["git", "add", "-N", "specs/new.spach"], cwd=git_repo, check=True)
    shown = subprocess.run(["git", "diff", "--", "specs/new.spach"], cwd=git_repo, capture_output=True, text=True)
    assert shown.returncode == 0, shown.stderr
    assert "new spec tiny: " in shown.stdout and "+model tiny" in shown.stdout


def test_diff_does_not_import_torch():
    probe = ("import atexit, sys; atexit.register(lambda: print('torch loaded:', 'torch' in sys.modules)); "
             "import spachc.cli.diff_cmd; assert 'torch' not in sys.modules; "
             "sys.argv = ['spachc', 'diff', 'hybrid_xs', 'hybrid_s']; "
             "from spachc.cli.app import main; main()")
    result = subprocess.run([sys.executable, "-c", probe], cwd=REPO, capture_output=True, text=True, timeout=120)
    assert result.returncode == 1, result.stderr
    assert result.stdout.rstrip().endswith("torch loaded: False")
    assert "+35,072,000" in result.stdout


def test_documented_example_is_what_the_command_prints():
    doc = (REPO / "docs" / "version-control.md").read_text()
    example = doc.split("    $ spachc diff hybrid_xs hybrid_s\n", 1)[1].split("\n\n", 1)[0]
    shown = [line[4:] for line in example.splitlines() if line.strip() != "..."]
    printed = run_cli("diff", "hybrid_xs", "hybrid_s").stdout.splitlines()
    assert len(shown) == 10
    assert all(line in printed for line in shown), [line for line in shown if line not in printed]
