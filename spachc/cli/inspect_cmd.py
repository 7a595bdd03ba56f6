"""`spachc inspect FILE`: what a .safetensors or .onnx file holds. Never imports torch."""

from __future__ import annotations

import json
from pathlib import Path

import typer
from rich.table import Table

from .common import out, reports_errors


def _spec_lines(spec: dict) -> list[str]:
    if spec["text"] is None:
        return ["spec: none (not written by spachc)"]
    verdict = "matches its spec text" if spec["hash_matches"] else "DOES NOT match its spec text"
    lines = [f"spec: {spec['name'] or '(invalid)'}  hash {spec['hash']}  ({verdict})"]
    if spec.get("error"):
        lines.append(f"  the embedded spec is invalid: {spec['error']}")
    lines += ["", *(f"  {line}" for line in spec["text"].rstrip().splitlines()), ""]
    return lines


def _metadata_lines(metadata: dict) -> list[str]:
    return [f"{key}: {value}" for key, value in sorted(metadata.items()) if key != "format"]


def render_safetensors(info: dict) -> None:
    out.print(f"{info['path']}: safetensors, {info['bytes']:,} bytes", markup=False)
    for line in _spec_lines(info["spec"]) + _metadata_lines(info["metadata"]):
        out.print(line, markup=False)
    table = Table(title=f"{len(info['tensors'])} tensors stored, {info['stored_elements']:,} elements",
                  title_justify="left")
    for col, justify in (("name", "left"), ("dtype", "left"), ("shape", "left"), ("elements", "right")):
        table.add_column(col, justify=justify)
    for t in info["tensors"]:
        table.add_row(t["name"], t["dtype"], "x".join(map(str, t["shape"])) or "scalar", f"{t['numel']:,}")
    out.print(table)
    if info["shared"]:
        out.print(f"{len(info['shared'])} shared names, re-tied on load:", markup=False)
        for alias, target in sorted(info["shared"].items()):
            out.print(f"  {alias} -> {target}", markup=False)


def render_onnx(info: dict) -> None:
    out.print(f"{info['path']}: ONNX (IR {info['ir_version']}), {info['bytes']:,} bytes, by {info['producer']}", markup=False)
    out.print("opsets: " + ", ".join(f"{d} {v}" for d, v in sorted(info["opsets"].items())), markup=False)
    for line in _spec_lines(info["spec"]) + _metadata_lines(info["metadata"]):
        out.print(line, markup=False)
    for kind in ("inputs", "outputs"):
        for v in info[kind]:
            out.print(f"{kind[:-1]} {v['name']}: {v['dtype']}[{', '.join(map(str, v['shape']))}]", markup=False)
    ops = ", ".join(f"{op} {n}" for op, n in info["ops"].items())
    out.print(f"graph: {info['nodes']} nodes ({ops})", markup=False)
    out.print(f"weights: {info['initializers']} initializers, {info['parameters']:,} elements, "
              + (f"stored in {', '.join(info['external_data'])}" if info["external_data"] else "inside the file"),
              markup=False)


def inspect_command(
    file: Path = typer.Argument(..., help="A .safetensors or .onnx file, or a model folder.", show_default=False),
    as_json: bool = typer.Option(False, "--json", help="Machine-readable output."),
) -> None:
    """Print what a .safetensors or .onnx file holds: spec, hash, tensors or graph, opset."""
    from ..export.inspect import describe

    info = describe(file)
    if as_json:
        out.print_json(json.dumps(info))
    elif info["format"] == "onnx":
        render_onnx(info)
    else:
        if "folder" in info:
            cfg = info["folder"]["config"].get("pretrained_cfg", {})
            out.print(f"{info['folder']['path']}: model folder; config.json pretrained_cfg: "
                      f"{json.dumps(cfg, sort_keys=True)}", markup=False)
        render_safetensors(info)


def register(app: typer.Typer) -> None:
    app.command("inspect")(reports_errors(inspect_command))
