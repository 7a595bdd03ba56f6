"""spachc.model_io end to end: `spachc save` records what `predict` uses, hostile weights files
and headers given to the CLI are coded errors, its readers need no torch, and a bounded run of
the model-files fuzzer (the library in process is tests/unit/test_model_io.py)."""

from __future__ import annotations

import json
import struct
import subprocess
import sys

import pytest
import torch
from support.cli import run_cli
from support.exporting import logits, random_model
from support.paths import FIXTURES, REPO
from support.weights_files import code_of, rewrite_header

import spachc
from spachc.model_io import metadata as meta
from spachc.model_io.tensors import save_weights


# --- save ------------------------------------------------------------------------------------

def test_save_records_labels_and_preprocessing_that_predict_uses(tmp_path):
    spec, model = random_model("conv4")
    names = ["ant", "bee", "cat", "dog", "eel"]
    folder = spachc.save(model, tmp_path / "m", labels=names, preprocessing={"mean": [0.1, 0.2, 0.3],
                                                                            "std": [0.4, 0.5, 0.6]})
    loaded = spachc.from_pretrained(folder)
    assert loaded.model_info.labels == tuple(names) and loaded.model_info.recorded
    assert loaded.model_info.preprocessing.mean == (0.1, 0.2, 0.3)
    assert loaded.pretrained_cfg["label_names"] == names
    images = torch.randn(1, 3, 32, 32)
    assert (logits(loaded, images) == logits(model.eval(), images)).all()
    from PIL import Image

    Image.new("RGB", (40, 40), (200, 10, 10)).save(tmp_path / "red.png")
    result = run_cli("predict", str(folder), str(tmp_path / "red.png"), "--json")
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["preprocessing_recorded"] and report["preprocessing"]["mean"] == [0.1, 0.2, 0.3]
    assert {p["label"] for p in report["predictions"][0]["top"]} <= set(names)
    assert "note:" not in result.stderr
    assert code_of(lambda: spachc.save(model, tmp_path / "n", labels=["a", "b"])) == "E827"
    assert code_of(lambda: spachc.save(model, tmp_path / "n", labels=[1, 2, 3, 4, 5])) == "E827"
    assert code_of(lambda: spachc.save(model, tmp_path / "n", preprocessing={"std": [0, 1, 1]})) == "E826"


def test_save_command_records_what_the_note_asked_for(tmp_path):
    spec, model = random_model("conv4")
    old = tmp_path / "old.safetensors"
    save_weights(model, spec, old)  # no preprocessing, no labels recorded
    (tmp_path / "labels.txt").write_text("ant\nbee\ncat\ndog\neel\n")
    from PIL import Image

    Image.new("RGB", (40, 40), (10, 200, 10)).save(tmp_path / "g.png")
    before = run_cli("predict", str(old), str(tmp_path / "g.png"))
    assert "no preprocessing recorded in" in before.stderr and "written before" not in before.stderr
    command = before.stderr.split("record it with `")[1].split("`")[0].split()
    assert command[:3] == ["spachc", "save", str(old)]
    command[3] = str(tmp_path / "m")  # DIR
    saved = run_cli(*command[1:], "--labels", str(tmp_path / "labels.txt"))
    assert saved.returncode == 0, saved.stderr
    after = run_cli("predict", str(tmp_path / "m"), str(tmp_path / "g.png"), "--json")
    assert after.returncode == 0 and "note:" not in after.stderr, after.stderr
    report = json.loads(after.stdout)
    assert report["preprocessing_recorded"] and report["predictions"][0]["top"][0]["label"] in {"ant", "bee", "cat",
                                                                                                "dog", "eel"}
    bad = run_cli("save", str(old), str(tmp_path / "x"), "--mean", "0.5,nan,0.5")
    assert bad.returncode != 0 and "error[E831]" in bad.stderr and "Traceback" not in bad.stderr
    (tmp_path / "few.txt").write_text("a\nb\n")
    few = run_cli("save", str(old), str(tmp_path / "y"), "--labels", str(tmp_path / "few.txt"))
    assert "error[E827]" in few.stderr and "Traceback" not in few.stderr


def test_a_sparse_file_declaring_gigabytes_is_refused_before_allocating(tmp_path):
    """An attack: an extra 3 GiB tensor in a sparse file. Refused from the header
    alone: the child process that refuses it stays far below the tensor's size."""
    spec, model = random_model("conv4")
    path = tmp_path / "big.safetensors"
    save_weights(model, spec, path)
    data = path.read_bytes()
    (length,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8:8 + length])
    end = max(v["data_offsets"][1] for k, v in header.items() if k != "__metadata__")
    huge = 3 * 2**30
    header["junk"] = {"dtype": "F32", "shape": [huge // 4], "data_offsets": [end, end + huge]}
    text = json.dumps(header).encode()
    text += b" " * (-len(text) % 8)
    with path.open("wb") as f:
        f.write(struct.pack("<Q", len(text)) + text + data[8 + length:])
        f.truncate(8 + len(text) + end + huge)  # sparse: no disk used
    code = ("import resource, sys, spachc\n"
            "try:\n    spachc.create_model(sys.argv[1])\n"
            "except spachc.SpecError: raise\n"
            "except Exception as exc:\n    print(exc.diagnostics[0].code)\n"
            "print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)\n")
    result = subprocess.run([sys.executable, "-c", code, str(path)], capture_output=True, text=True, timeout=300)
    lines = result.stdout.split()
    assert lines[0] == "E816", result.stderr
    assert int(lines[1]) < 1.5 * 2**20  # KiB: well under the 3 GiB the header declares


@pytest.mark.parametrize("edit, code", [
    (lambda h: h.update(junk={"dtype": "F32", "shape": "abc", "data_offsets": [0, 4]}), "E823"),
    (lambda h: h.update(junk={"dtype": 7, "shape": [1], "data_offsets": [0, 4]}), "E823"),
    (lambda h: h.update(junk={"dtype": "F32", "shape": [1], "data_offsets": ["0", "4"]}), "E823"),
    (lambda h: h.update(junk=[1, 2, 3]), "E823"),
    (lambda h: h["__metadata__"].update({meta.SPEC: 5}), "E823"),
    (lambda h: h["__metadata__"].update({meta.ALIASES: "not json"}), "E824"),
    (lambda h: h["__metadata__"].update({meta.ALIASES: "[1, 2]"}), "E824"),
    (lambda h: h["__metadata__"].update({meta.ALIASES: "[" * 100000 + "]" * 100000}), "E825"),
    (lambda h: h["__metadata__"].update({meta.LABELS: "5"}), "E827"),
    (lambda h: h["__metadata__"].update({meta.LABELS: json.dumps([None] * 5)}), "E827"),
    (lambda h: h["__metadata__"].update({meta.PREPROCESSING: json.dumps(
        {"input_size": [3, 0, 32], "mean": [0.5] * 3, "std": [0.5] * 3})}), "E826"),
    (lambda h: h["__metadata__"].update({meta.PREPROCESSING: json.dumps(
        {"input_size": [3, 32, 32], "mean": [0.5] * 3, "std": [0.5] * 3, "crop_pct": 1e-9})}), "E826"),
    (lambda h: h["__metadata__"].update({meta.PREPROCESSING: json.dumps(
        {"input_size": [3, 40000, 40000], "mean": [0.5] * 3, "std": [0.5] * 3})}), "E826"),
    (lambda h: h["__metadata__"].update({meta.PREPROCESSING: json.dumps(
        {"input_size": [3, 64, 64], "mean": [0.5] * 3, "std": [0.5] * 3})}), "E828"),
])
def test_malformed_headers_are_coded_errors(tmp_path, edit, code):
    spec, model = random_model("conv4")
    path = tmp_path / "w.safetensors"
    save_weights(model, spec, path)
    rewrite_header(path, lambda h: h["__metadata__"].pop(meta.CHECKSUM))  # a crafted file carries none
    rewrite_header(path, edit)
    result = run_cli("predict", str(path), str(FIXTURES / "missing.png"))
    assert f"error[{code}]" in result.stderr and "Traceback" not in result.stderr, result.stderr


@pytest.fixture
def folder(tmp_path):
    spec, model = random_model("conv4")
    return spachc.save(model, tmp_path / "m", labels=["a", "b", "c", "d", "e"])


def test_a_config_nested_beyond_pythons_recursion_is_a_coded_error(folder):
    (folder / "config.json").write_text("[" * 100000 + "]" * 100000)
    result = run_cli("inspect", str(folder))
    assert "error[E825]" in result.stderr and "Traceback" not in result.stderr, result.stderr


# --- structure ---------------------------------------------------------------------------------

def test_model_io_has_no_import_cycles_and_its_readers_need_no_torch():
    import ast

    root = REPO / "spachc"
    graph: dict[str, set[str]] = {}
    for path in sorted((root / "model_io").glob("*.py")):
        name = "spachc.model_io" + ("" if path.stem == "__init__" else f".{path.stem}")
        deps = set()
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.level == 1:  # `from . import x` imports module x
                deps.update([f"spachc.model_io.{node.module}"] if node.module else
                            [f"spachc.model_io.{a.name}" for a in node.names])
        graph[name] = deps

    def reaches(start, goal, seen):
        return any(dep == goal or (dep not in seen and not seen.add(dep) and reaches(dep, goal, seen))
                   for dep in graph.get(start, ()))

    assert len(graph) >= 10
    assert [m for m in graph if reaches(m, m, set())] == []
    code = ("import sys, spachc.model_io, spachc.model_io.folder, spachc.model_io.weights_header, "
            "spachc.model_io.integrity, spachc.model_io.kinds, spachc.model_io.metadata, spachc.model_io.sources; "
            "spachc.model_io.spec_of('hybrid_xs'); print('torch' in sys.modules)")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO, timeout=120)
    assert result.stdout.strip() == "False", result.stderr


def test_fuzzing_weights_headers_and_model_folders_finds_no_escape(tmp_path):
    """A bounded run of tests/support/model_io_fuzzing.py (benchmarks/fuzz_model_io.py runs it long)."""
    from support.model_io_fuzzing import fuzz

    tally = fuzz(tmp_path, cases=60, seed=1)
    assert tally.cases == 120
    assert tally.escapes == [] and tally.hangs == 0, tally.escapes[:3]
    assert tally.accepted > 0 and len(tally.refused) >= 6  # the mutations reach many checks
