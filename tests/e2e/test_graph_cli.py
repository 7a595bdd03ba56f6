"""`spachc graph` as a user runs it: svg through Graphviz when `dot` is installed, a clear message
when not, output files and formats, a bad spec's diagnostic, and no torch import (the
pictures themselves are tests/unit/test_graph.py)."""

from __future__ import annotations
import shutil
import subprocess
import sys

import pytest
from support.cli import run_cli
from support.paths import REPO

import spachc
from spachc.lang.graph import GraphError, to_dot, to_mermaid, to_svg

SHARED = """\
model shared_mlp
input 32
classes 10
stem patch 4
stage conv x1 dim 16
-> down -> stage mlp x3 shared cpe off
"""


def test_svg_with_graphviz_or_a_clear_message(tmp_path):
    no_dot = run_cli("graph", "hybrid_s", "--format", "svg", env={"PATH": str(tmp_path)})
    assert no_dot.returncode == 1 and no_dot.stdout == ""
    assert no_dot.stderr.startswith("error[E952]: svg needs Graphviz's `dot` program, which is not on PATH")
    assert "--format mermaid" in no_dot.stderr and "Traceback" not in no_dot.stderr
    if shutil.which("dot") is None:
        with pytest.raises(GraphError, match="not on PATH"):
            to_svg(spachc.load("hybrid_s"))
        pytest.skip("Graphviz `dot` is not installed: svg rendering itself not checked")
    out = tmp_path / "hybrid_s.svg"
    result = run_cli("graph", "hybrid_s", "-o", str(out))  # format from the suffix
    assert result.returncode == 0, result.stderr
    svg = out.read_text()
    assert svg.lstrip().startswith("<?xml") and "<svg" in svg
    for label in ("conv x3", "trans x10", "stage 4", "512 &#45;&gt; 1024, 14x14 &#45;&gt; 7x7"):
        assert label in svg


def test_output_file_and_format_from_suffix(tmp_path):
    result = run_cli("graph", "hybrid_xs", "-o", str(tmp_path / "x.dot"))
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "x.dot").read_text() == to_dot(spachc.load("hybrid_xs"))
    result = run_cli("graph", "hybrid_xs", "--set", "heads=4", "--format", "mermaid")
    assert result.returncode == 0 and result.stdout == to_mermaid(spachc.load("hybrid_xs", overrides=["heads=4"]))
    result = run_cli("graph", "hybrid_xs", "-o", str(tmp_path / "x.md"))
    assert (tmp_path / "x.md").read_text() == "```mermaid\n" + to_mermaid(spachc.load("hybrid_xs")) + "```\n"
    result = run_cli("graph", "hybrid_xs", "-o", str(tmp_path / "missing" / "x.mmd"))
    assert result.returncode == 1 and result.stderr.startswith("error[E951]: cannot write")


def test_a_bad_spec_gets_its_diagnostic(tmp_path):
    bad = tmp_path / "bad.spach"
    bad.write_text(SHARED.replace("mlp x3 shared", "mlp x3 dim 7 heads 2 shared, trans x1"))
    result = run_cli("graph", str(bad))
    assert result.returncode == 1 and "error[" in result.stderr and "Traceback" not in result.stderr


def test_graph_does_not_import_torch():
    probe = ("import atexit, sys; atexit.register(lambda: print('torch loaded:', 'torch' in sys.modules)); "
             "import spachc.cli.graph_cmd; assert 'torch' not in sys.modules; "
             "sys.argv = ['spachc', 'graph', 'hybrid_s', '--format', 'dot']; "
             "from spachc.cli.app import main; main()")
    result = subprocess.run([sys.executable, "-c", probe], cwd=REPO, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith('digraph "hybrid_s"')
    assert result.stdout.rstrip().endswith("torch loaded: False")
