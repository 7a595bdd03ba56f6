"""Pictures of an architecture: mermaid (GitHub renders it in Markdown) and Graphviz dot / svg.

Both renderers draw the same `Picture`: input, stem, one box per stage holding its
block groups in order, a downsample between stages, the head. Shared spatial mixers
are marked. No torch: widths, grids and params come from the IR and `spachc.summary`.
"""

from __future__ import annotations

import shutil
import subprocess
from dataclasses import dataclass

from ..diagnostics import UserError
from .ir import Spec, Stage
from .kinds import KINDS
from .summary import summary

FORMATS = ("mermaid", "markdown", "dot", "svg")
KIND_COLOURS = {name: k.colour for name, k in KINDS.items()}  # from the kind registry


class GraphError(UserError):
    """svg was asked for but Graphviz's `dot` program is missing or failed."""

    code = "E952"


@dataclass(frozen=True)
class Node:
    id: str
    lines: tuple[str, ...]
    role: str  # input, stem, a block kind, down, head
    shared: bool = False


@dataclass(frozen=True)
class Cluster:
    id: str
    title: tuple[str, ...]
    nodes: tuple[Node, ...]


@dataclass(frozen=True)
class Picture:
    name: str
    items: tuple[Node | Cluster, ...]  # in data-flow order

    def chain(self) -> list[str]:
        ids = []
        for item in self.items:
            ids += [n.id for n in item.nodes] if isinstance(item, Cluster) else [item.id]
        return ids


def _grid(hw: tuple[int, int]) -> str:
    return f"{hw[0]}x{hw[1]}"


def _params(n: int) -> str:
    return f"{n / 1e6:.2f}M params" if n >= 1e5 else f"{n:,} params"


def picture(spec: Spec) -> Picture:
    s = summary(spec)
    stem = spec.stem
    stem_kind = f"stem {stem.kind}, patch {stem.patch}" + (f", hidden {stem.hidden}" if stem.hidden else "")
    items: list[Node | Cluster] = [
        Node("input", (f"input {spec.channels}x{_grid(spec.input)}",), "input"),
        Node("stem", (stem_kind, f"{spec.channels} -> {spec.stages[0].dim} channels, tokens {_grid(spec.stages[0].grid)}"),
             "stem"),
    ]
    for i, stage in enumerate(spec.stages, start=1):
        if i > 1:
            before = spec.stages[i - 2]
            items.append(Node(f"down{i}", ("down: conv 2x2 stride 2, GroupNorm",
                                           f"{before.dim} -> {stage.dim}, {_grid(before.grid)} -> {_grid(stage.grid)}"),
                              "down"))
        title = (f"stage {i}", f"dim {stage.dim}, tokens {_grid(stage.grid)}", _params(s.stages[i - 1].params))
        items.append(Cluster(f"stage{i}", title, _group_nodes(i, stage)))
    last = spec.stages[-1]
    items.append(Node("head", ("head: LayerNorm, mean over tokens", f"Linear {last.dim} -> {spec.classes} classes"),
                      "head"))
    return Picture(spec.name, tuple(items))


def _group_nodes(index: int, stage: Stage) -> tuple[Node, ...]:
    nodes = []
    for j, group in enumerate(stage.groups, start=1):
        lines = [f"{group.kind} x{group.repeat}"]
        if (detail := KINDS[group.kind].detail(stage)) is not None:
            lines.append(detail)
        shared = stage.shared and KINDS[group.kind].mixer
        if shared:
            lines.append("one shared mixer")
        if not stage.cpe:
            lines.append("no CPE")
        nodes.append(Node(f"s{index}g{j}", tuple(lines), group.kind, shared))
    return tuple(nodes)


# --- mermaid ---------------------------------------------------------------------------

def _mermaid_label(lines: tuple[str, ...] | list[str]) -> str:
    return '"' + "<br/>".join(line.replace('"', "#quot;") for line in lines) + '"'


def _mermaid_node(node: Node) -> str:
    label = _mermaid_label(node.lines)
    shapes = {"input": f"[/{label}/]", "down": f"{{{{{label}}}}}", "head": f"([{label}])"}
    return f"{node.id}{shapes.get(node.role, f'[{label}]')}:::{node.role}"


def to_mermaid(spec: Spec) -> str:
    pic = picture(spec)
    lines = ["---", f"title: {pic.name}", "---", "flowchart TB"]
    for item in pic.items:
        if isinstance(item, Cluster):
            one_line = f"{item.title[0]}: " + ", ".join(item.title[1:])
            lines.append(f"  subgraph {item.id}[{_mermaid_label([one_line])}]")
            lines.append("    direction TB")
            lines += [f"    {_mermaid_node(n)}" for n in item.nodes]
            lines.append("  end")
        else:
            lines.append(f"  {_mermaid_node(item)}")
    lines.append("  " + " --> ".join(pic.chain()))
    used = {g.kind for stage in spec.stages for g in stage.groups}
    for role, colour in KIND_COLOURS.items():
        if KINDS[role].paper or role in used:  # the paper's three always, as before; later kinds where drawn
            lines.append(f"  classDef {role} fill:{colour},stroke:#334155")
    lines.append("  classDef down fill:#e2e8f0,stroke:#334155")
    lines.append("  classDef input fill:#ffffff,stroke:#334155")
    lines.append("  classDef stem fill:#ffffff,stroke:#334155")
    lines.append("  classDef head fill:#ffffff,stroke:#334155")
    shared = [n.id for item in pic.items if isinstance(item, Cluster) for n in item.nodes if n.shared]
    if shared:
        lines.append("  classDef shared stroke-width:3px,stroke-dasharray:6 3")
        lines.append(f"  class {','.join(shared)} shared")
    return "\n".join(lines) + "\n"


# --- Graphviz --------------------------------------------------------------------------

def _dot_text(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _dot_label(lines: tuple[str, ...]) -> str:
    return '"' + "\\n".join(_dot_text(line)[1:-1] for line in lines) + '"'


def _dot_node(node: Node) -> str:
    label = _dot_label(node.lines)
    shape = {"input": "parallelogram", "down": "box", "head": "box"}.get(node.role, "box")
    fill = KIND_COLOURS.get(node.role, "#e2e8f0" if node.role == "down" else "white")
    style = "rounded,filled" + (",dashed,bold" if node.shared else "")
    return f'{node.id} [label={label}, shape={shape}, style="{style}", fillcolor="{fill}"];'


def to_dot(spec: Spec) -> str:
    pic = picture(spec)
    lines = [f"digraph {_dot_text(pic.name)} {{",
             f"  label={_dot_text(pic.name)}; labelloc=t; fontname=Helvetica; rankdir=TB;",
             '  node [fontname=Helvetica, fontsize=11]; edge [color="#334155"];']
    for item in pic.items:
        if isinstance(item, Cluster):
            # The title sits beside the first block, not on top, so that no edge runs through it.
            title, first = f"{item.id}_title", item.nodes[0].id
            lines.append(f"  subgraph cluster_{item.id} {{")
            lines.append('    label=""; style="rounded"; color="#64748b";')
            lines.append(f"    {title} [label={_dot_label(item.title)}, shape=plaintext, fontsize=12];")
            lines += [f"    {_dot_node(n)}" for n in item.nodes]
            lines.append(f"    {{ rank=same; {title} -> {first} [style=invis]; }}")
            lines.append("  }")
        else:
            lines.append(f"  {_dot_node(item)}")
    lines.append("  " + " -> ".join(pic.chain()) + " [weight=10];")
    lines.append("}")
    return "\n".join(lines) + "\n"


def to_svg(spec: Spec) -> str:
    """Render the dot text with Graphviz's `dot` program."""
    dot = shutil.which("dot")
    if dot is None:
        raise GraphError("svg needs Graphviz's `dot` program, which is not on PATH; install Graphviz "
                              "(apt-get install graphviz, brew install graphviz) or use --format mermaid or --format dot")
    done = subprocess.run([dot, "-Tsvg"], input=to_dot(spec), capture_output=True, text=True, timeout=120)
    if done.returncode != 0:
        raise GraphError(f"Graphviz `dot` failed: {done.stderr.strip()}")
    return done.stdout


def to_markdown(spec: Spec) -> str:
    """The mermaid picture in a fenced block: what GitHub renders inside .md files."""
    return f"```mermaid\n{to_mermaid(spec)}```\n"


def render(spec: Spec, format: str) -> str:
    return {"mermaid": to_mermaid, "markdown": to_markdown, "dot": to_dot, "svg": to_svg}[format](spec)
