"""Fuzzing models on disk: weights headers and model folders.

Each case mutates a whole, valid file: one node of the safetensors header or of config.json
replaced by a value of another type, size or depth; a metadata entry (aliases,
preprocessing, labels, spec) rewritten or garbled; tensors added, removed or re-ranged;
bytes flipped; the file cut short. Half the cases drop the checksum first, as an attacker
would, so the field checks behind it are reached.

The oracle: `spachc.create_model` (and the recorded preprocessing and labels it attaches)
either succeeds or raises one coded diagnostic (DiagnosticError). Anything else is an
escape; a case running longer than HANG_SECONDS is a hang. Used by tests/e2e/test_model_io_cli.py
(bounded) and benchmarks/fuzz_model_io.py (long runs, counts in RESULTS.md).
"""

from __future__ import annotations

import json
import random
import signal
import struct
import traceback
from dataclasses import dataclass, field
from pathlib import Path

import torch

import spachc
from spachc.diagnostics import DiagnosticError
from spachc.model_io import metadata as meta
from spachc.model_io.tensors import save_weights

HANG_SECONDS = 20
SPEC = "model fuzz\ninput 16\nclasses 3\nstem patch 4\nstage conv x1 dim 8 -> down -> stage trans x2 dim 16 shared\n"
ODD = [None, True, False, 0, -1, 1, 2**64, -2**63, 1e308, -0.0, 1e-9, float("nan"), "", "x", "F32", "I32", "BOOL",
       "[]", "{}", "null", "5", [], {}, [None], [1, 2], ["a"] * 3, [[[[]]]], {"a": {"b": {}}}, "\u202e", "é" * 50]


@dataclass
class Tally:
    cases: int = 0
    accepted: int = 0
    refused: dict[str, int] = field(default_factory=dict)
    escapes: list[str] = field(default_factory=list)
    hangs: int = 0


def odd_value(rng: random.Random):
    choice = rng.random()
    if choice < 0.1:
        depth = rng.choice([10, 100, 5000])
        return json.loads("[" * depth + "]" * depth) if depth < 900 else "[" * depth + "]" * depth
    if choice < 0.2:
        return "x" * rng.choice([10, 10_000, 2_000_000])
    return rng.choice(ODD)


def base_files(folder: Path) -> tuple[Path, Path]:
    """A weights file with a shared mixer, preprocessing and labels; and a model folder."""
    spec = spachc.parse(SPEC)
    torch.manual_seed(0)
    model = spachc.build(spec)
    info = meta.ModelInfo(meta.default_preprocessing(spec.input, spec.channels), ("a", "b", "c"))
    weights = folder / "base.safetensors"
    save_weights(model, spec, weights, extra=meta.model_info_entries(info))
    return weights, spachc.save(model, folder / "base_folder", labels=["a", "b", "c"])


def _split(data: bytes) -> tuple[dict, bytes]:
    (length,) = struct.unpack("<Q", data[:8])
    return json.loads(data[8:8 + length]), data[8 + length:]


def _join(header, rest: bytes) -> bytes:
    text = json.dumps(header, allow_nan=True).encode() if not isinstance(header, bytes) else header
    return struct.pack("<Q", len(text)) + text + rest


def _mutate_node(rng: random.Random, node):
    """Replace one randomly chosen node under `node` (in place where it can)."""
    path = []
    while isinstance(node, (dict, list)) and node and rng.random() < 0.7:
        key = rng.choice(list(node)) if isinstance(node, dict) else rng.randrange(len(node))
        path.append((node, key))
        node = node[key]
    if not path:
        return odd_value(rng)
    parent, key = path[-1]
    op = rng.random()
    if op < 0.15 and isinstance(parent, dict):
        del parent[key]
    elif op < 0.25 and isinstance(parent, dict):
        parent[f"junk{rng.randrange(99)}"] = odd_value(rng)
    else:
        parent[key] = odd_value(rng)
    return path[0][0]


def _mutate_metadata_entry(rng: random.Random, metadata: dict) -> None:
    key = rng.choice([meta.ALIASES, meta.PREPROCESSING, meta.LABELS, meta.SPEC, meta.SPEC_HASH, meta.CHECKSUM_SCHEME])
    text = metadata.get(key, "{}")
    try:
        value = json.loads(text)
    except json.JSONDecodeError:
        value = text
    if key == meta.SPEC or rng.random() < 0.2:
        if isinstance(value, str) and rng.random() < 0.5:
            metadata[key] = value.replace(rng.choice(["16", "8", "3", "conv", "x2"]), rng.choice(["0", "-1", "99999",
                                                                                               "mlp", "x4096"]), 1)
        else:
            metadata[key] = json.dumps(odd_value(rng)) if rng.random() < 0.8 else "\x00garbage{"
        return
    mutated = _mutate_node(rng, value)
    try:
        metadata[key] = json.dumps(mutated)
    except (ValueError, RecursionError):
        metadata[key] = "[" * 5000


def mutate_weights(rng: random.Random, data: bytes) -> bytes:
    header, rest = _split(data)
    if rng.random() < 0.5:
        header["__metadata__"].pop(meta.CHECKSUM, None)
    op = rng.random()
    if op < 0.35:
        _mutate_metadata_entry(rng, header["__metadata__"])
    elif op < 0.6:
        names = [k for k in header if k != "__metadata__"]
        name = rng.choice(names)
        header[name] = _mutate_node(rng, header[name]) if rng.random() < 0.8 else odd_value(rng)
    elif op < 0.7:
        end = max(v["data_offsets"][1] for k, v in header.items() if k != "__metadata__")
        n = rng.choice([1, 1000, 2**28, 2**40])
        header["junk"] = {"dtype": "F32", "shape": [n], "data_offsets": [end, end + 4 * n]}
    elif op < 0.75:
        del header[rng.choice([k for k in header if k != "__metadata__"])]
    elif op < 0.85:
        raw = bytearray(_join(header, rest))
        for _ in range(rng.randint(1, 8)):
            raw[rng.randrange(len(raw))] = rng.randrange(256)
        return bytes(raw)
    elif op < 0.9:
        whole = _join(header, rest)
        return whole[:rng.randrange(len(whole))]
    else:
        header = _mutate_node(rng, header)
    try:
        return _join(header, rest)
    except (ValueError, RecursionError, TypeError):
        return _join(b"[" * 10000, rest)


def mutate_config(rng: random.Random, text: str) -> str:
    config = json.loads(text)
    op = rng.random()
    if op < 0.1:
        return rng.choice(["[" * 100000, "{" * 3000 + "}" * 3000, "", "null", "\x00", json.dumps(odd_value(rng))])
    if op < 0.6:
        config["pretrained_cfg"] = _mutate_node(rng, config["pretrained_cfg"])
    elif op < 0.75:
        config["spec"] = (odd_value(rng) if rng.random() < 0.5 else
                          config["spec"].replace("16", rng.choice(["0", "32", "99999"]), 1))
    else:
        config = _mutate_node(rng, config)
    try:
        return json.dumps(config)
    except (ValueError, RecursionError, TypeError):
        return "[" * 10000


class Hang(Exception):
    pass


def _alarm(signum, frame):
    raise Hang()


def run_case(tally: Tally, load, label: str) -> None:
    tally.cases += 1
    previous = signal.signal(signal.SIGALRM, _alarm)
    signal.alarm(HANG_SECONDS)
    try:
        load()
        tally.accepted += 1
    except DiagnosticError as exc:
        code = exc.diagnostics[0].code
        tally.refused[code] = tally.refused.get(code, 0) + 1
    except Hang:
        tally.hangs += 1
    except Exception:  # noqa: BLE001 - the oracle: anything uncoded is an escape
        tally.escapes.append(f"{label}: {traceback.format_exc(limit=-3)}")
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


def fuzz(folder: Path, cases: int, seed: int = 0) -> Tally:
    """`cases` weights-header cases and `cases` model-folder cases."""
    rng = random.Random(seed)
    weights, model_folder = base_files(folder)
    data, config = weights.read_bytes(), (model_folder / "config.json").read_text()
    tally = Tally()
    target = folder / "case.safetensors"
    case_folder = folder / "case_folder"
    case_folder.mkdir(exist_ok=True)
    (case_folder / "model.safetensors").write_bytes((model_folder / "model.safetensors").read_bytes())
    for i in range(cases):
        target.write_bytes(mutate_weights(rng, data))
        run_case(tally, lambda: spachc.create_model(target), f"weights case {i} (seed {seed})")
        (case_folder / "config.json").write_text(mutate_config(rng, config))
        run_case(tally, lambda: spachc.from_pretrained(case_folder), f"folder case {i} (seed {seed})")
    return tally
