"""The pictures of `spachc graph`: mermaid and dot name every stage, block group, downsample and
shared mixer, and the pictures in docs/ are current (the command, svg through Graphviz and its
messages are tests/e2e/test_graph_cli.py)."""

from __future__ import annotations

import re

from support.paths import REPO

import spachc
from spachc.lang.graph import picture, to_dot, to_mermaid

SHARED = """\
model shared_mlp
input 32
classes 10
stem patch 4
stage conv x1 dim 16
-> down -> stage mlp x3 shared cpe off
"""


def _mermaid_nodes(text: str) -> dict[str, str]:
    """Node id -> label for every node definition line (`id["..."]`, `id{{"..."}}`, ...)."""
    return dict(re.findall(r'^\s+([a-z0-9]+)[\[\(\{/]+"([^"]*)"', text, flags=re.M))


def test_mermaid_of_hybrid_s_names_every_stage_and_block_group():
    text = to_mermaid(spachc.load("hybrid_s"))
    assert text.startswith("---\ntitle: hybrid_s\n---\nflowchart TB\n")
    subgraphs = re.findall(r'^  subgraph (stage\d)\["([^"]*)"\]$', text, flags=re.M)
    assert subgraphs == [
        ("stage1", "stage 1: dim 128, tokens 56x56, 0.30M params"),
        ("stage2", "stage 2: dim 256, tokens 28x28, 2.25M params"),
        ("stage3", "stage 3: dim 512, tokens 14x14, 30.02M params"),
        ("stage4", "stage 4: dim 1024, tokens 7x7, 29.43M params"),
    ]
    assert text.count("\n  subgraph ") == text.count("\n  end\n") == 4
    nodes = _mermaid_nodes(text)
    chain = re.search(r"^  (input --> .*)$", text, flags=re.M).group(1).split(" --> ")
    assert set(chain) == set(nodes) and len(chain) == len(nodes)  # one path through every node
    groups = [nodes[i].split("<br/>")[0] for i in chain if re.fullmatch(r"s\dg\d", i)]
    assert groups == ["conv x3", "conv x2", "trans x2", "conv x2", "trans x10", "conv x1", "trans x2"]
    assert [i for i in chain if not re.fullmatch(r"s\dg\d", i)] == ["input", "stem", "down2", "down3", "down4", "head"]
    assert nodes["down3"] == "down: conv 2x2 stride 2, GroupNorm<br/>256 -> 512, 28x28 -> 14x14"
    assert nodes["s3g2"] == "trans x10<br/>heads 4, head_dim 128"
    assert nodes["stem"] == "stem conv1, patch 4<br/>3 -> 128 channels, tokens 56x56"
    assert nodes["head"] == "head: LayerNorm, mean over tokens<br/>Linear 1024 -> 1000 classes"
    assert "shared" not in text


def test_shared_mixers_and_missing_cpe_are_marked():
    # stage 2: 32 / patch 4 / down = a 4x4 grid, so the token MLP is int(16 * 0.5) = 8 wide
    spec = spachc.parse(SHARED)
    text = to_mermaid(spec)
    assert _mermaid_nodes(text)["s2g1"] == "mlp x3<br/>token hidden 8<br/>one shared mixer<br/>no CPE"
    assert "  class s2g1 shared\n" in text
    dot = to_dot(spec)
    assert re.search(r's2g1 \[label="mlp x3\\ntoken hidden 8\\none shared mixer\\nno CPE", .*dashed', dot)
    assert "one shared mixer" not in re.search(r"s1g1 \[.*\]", dot).group(0)


def test_dot_of_hybrid_s():
    dot = to_dot(spachc.load("hybrid_s"))
    assert dot.startswith('digraph "hybrid_s" {') and dot.rstrip().endswith("}")
    assert re.findall(r"subgraph (cluster_stage\d)", dot) == [f"cluster_stage{i}" for i in range(1, 5)]
    assert 'stage3_title [label="stage 3\\ndim 512, tokens 14x14\\n30.02M params"' in dot
    chain = re.search(r"^  (input -> .*) \[weight=10\];$", dot, flags=re.M).group(1).split(" -> ")
    assert chain == picture(spachc.load("hybrid_s")).chain()
    assert len(chain) == 13


def test_docs_pictures_are_current():
    mermaid = to_mermaid(spachc.load("hybrid_s"))
    assert (REPO / "docs" / "hybrid_s.mmd").read_text() == mermaid
    assert f"```mermaid\n{mermaid}```\n" in (REPO / "docs" / "version-control.md").read_text()
