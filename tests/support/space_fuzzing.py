"""Fuzzing the design-space language and study folders: seeded generators and the oracles.

The space oracle: `check` (and, for a checkable space, `sweep sample`'s drawing) returns
coded diagnostics that point inside the file, or a census, within a time limit; anything
else (another exception, a hang) is a bug. The study oracle: reading a damaged study folder
(study.json, settings.json, run files) gives a coded error or good data (ids and spec files
inside the study), never another exception. Used by tests/e2e/test_fuzz_spaces.py (bounded) and
benchmarks/fuzz_spaces.py (long runs), which report cases, escapes and hangs.
"""

from __future__ import annotations

import json
import random
import shutil
import signal
import time
from pathlib import Path

from spachc.diagnostics import DiagnosticError, SpecError
from spachc.diagnostics import Source
from spachc.lang.frontend import check_text_with_census
from spachc.lang.parser import parse_document

KINDS = ["conv", "trans", "mlp", "pool", "shift", "smlp", "sepconv"]
# Values for any place, right or wrong for it: numbers, kinds, switches, extremes.
VALUES = ["1", "2", "3", "4", "8", "16", "24", "32", "64", "0", "-1", "0.5", "1.5", "1e-5", "1e400", "1e-400",
          "on", "off", "conv", "trans", "mlp", "conv1", "conv4", "linear", "constant", "224x224", "3x3",
          "99999999999", "9" * 50, "1..3", "2..6", "1..4096", "0..0", "5..1", "1.." + "9" * 5000, "1.5..3"]
COUNTS = ["1", "2", "3", "1..3", "1..12", "1..300", "1..4096", "conv", "0", "1.5", "on", "9" * 30, "1.." + "9" * 40]
OPTIONS = ["dim", "heads", "channel_ratio", "token_ratio", "cpe", "layerscale", "qkv_bias"]
BOUNDS = ["macs < 1e400", "params <= 10M", "macs 2M..10M", "params >= 1", "macs 1..1" + "0" * 400, "flops < 3",
          "params > 1G", "macs <= 0.5G", "params 5..1", "params <= 1M", "macs >= 100K"]


def _choice(rng: random.Random, pool: list[str], names: list[str]) -> str:
    """A choice among values from `pool` (right for the place), or `$name` of that pool."""
    if names and rng.random() < 0.3:
        return "$" + rng.choice(names)
    if rng.random() < 0.2 and all(v.isdigit() for v in pool):
        low = rng.choice(pool)
        return "{" + f"{low}..{int(low) + rng.randint(0, 5)}" + "}"
    return "{" + " | ".join(rng.sample(pool, rng.randint(1, min(4, len(pool))))) + "}"


RIGHT = {"dim": ["16", "24", "32", "64"], "heads": ["1", "2", "4"], "channel_ratio": ["1", "2", "0.5"],
         "token_ratio": ["0.5", "1"], "cpe": ["on", "off"], "layerscale": ["1e-5", "off", "0.1"],
         "qkv_bias": ["on", "off"], "kind": KINDS, "count": ["1", "2", "3"], "input": ["28", "32", "224x192"],
         "classes": ["10", "3"], "patch": ["2", "4", "7"]}


def _value(rng, place: str, names: dict, plain: str) -> str:
    return _choice(rng, RIGHT[place], names.get(place, [])) if rng.random() < 0.5 else plain


def _stage(rng, names) -> str:
    groups = []
    for _ in range(rng.randint(1, 2)):
        kind = _value(rng, "kind", names, rng.choice(KINDS[:3]))
        count = "x" + _value(rng, "count", names, str(rng.randint(1, 3)))
        groups.append(f"{kind} {count}")
    options = [f"{name} {_value(rng, name, names, rng.choice(RIGHT[name]))}"
               for name in rng.sample(OPTIONS, rng.randint(0, 3)) if name != "dim"]
    options.insert(0, f"dim {_value(rng, 'dim', names, '16')}")
    return "stage " + ", ".join(groups) + " " + " ".join(options)


def _pipeline(rng, names) -> str:
    return " -> down -> ".join(_stage(rng, names) for _ in range(rng.randint(1, 3)))


WRONG = VALUES + COUNTS + KINDS + ["{}", "$nope", "x", "{1 |}", "{" + " | ".join(map(str, range(300))) + "}"]


def space_text(rng: random.Random) -> str:
    """A random design space: named choices, choices in any place, alternative pipelines,
    `where` bounds, comments; half of them then get one wrong value (of another type,
    extreme, huge ranges, bad bounds) in a random place."""
    places = rng.sample(sorted(RIGHT), rng.randint(0, 3))
    names = {place: [f"c_{place}"] for place in places}
    lines = [f"# space {rng.random()}"] if rng.random() < 0.3 else []
    lines.append(f"input {_value(rng, 'input', names, '32')}")
    lines.append(f"classes {_value(rng, 'classes', names, '10')}")
    if rng.random() < 0.5:
        lines.append(f"stem conv1 patch {_value(rng, 'patch', names, '4')}")
    if rng.random() < 0.3:
        lines.append(f"defaults heads {_value(rng, 'heads', names, '2')} "
                     f"layerscale {_value(rng, 'layerscale', names, 'off')}")
    for place in places:
        pool = RIGHT[place]
        lines.append(f"choose c_{place} {{{' | '.join(rng.sample(pool, rng.randint(1, len(pool))))}}}")
    if rng.random() < 0.3:
        lines.append("{ " + " | ".join(_pipeline(rng, names) for _ in range(rng.randint(2, 4))) + " }")
    else:
        lines.append(_pipeline(rng, names))
    if rng.random() < 0.4:
        lines.append("where " + rng.choice(["params <= 10M", "macs 2M..10M", "params >= 1", "params > 1G",
                                            "macs <= 0.5G", "params <= 1M", "macs >= 100K"]))
    if rng.random() < 0.2:
        lines.insert(rng.randrange(len(lines) + 1), "# note\n" * rng.randint(1, 50))
    text = "\n".join(lines) + "\n"
    if rng.random() < 0.5:
        text = _one_wrong(text, rng)
    return text


def _one_wrong(text: str, rng: random.Random) -> str:
    """Put one wrong thing in: a value inside a choice, a bound, a huge range, a repeat count."""
    op = rng.randrange(4)
    if op == 0 and "{" in text:
        starts = [i for i, ch in enumerate(text) if ch == "{"]
        i = rng.choice(starts) + 1
        return text[:i] + rng.choice(WRONG) + " | " + text[i:]
    if op == 1:
        return text + "where " + " ".join(rng.sample(BOUNDS, rng.randint(1, 2))) + "\n"
    if op == 2:
        return text.replace(" x1", " x{" + rng.choice(COUNTS) + "}", 1).replace(" x2", " x{1..4096}", 1)
    words = text.split(" ")
    i = rng.randrange(len(words))
    words[i] = rng.choice(WRONG)
    return " ".join(words)


class Hang(Exception):
    pass


def _with_alarm(seconds: int, fn, *args):
    def on_alarm(signum, frame):
        raise Hang(f"no answer within {seconds}s")

    previous = signal.signal(signal.SIGALRM, on_alarm)
    signal.alarm(seconds)
    try:
        return fn(*args)
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


def _inside(d, text: str) -> bool:
    if d.span is None:
        return d.path is not None
    if d.span.source.text != text:
        return (d.line, d.column) == (1, 1)
    lines = text.split("\n")
    return 1 <= d.line <= len(lines) and 1 <= d.column <= len(lines[d.line - 1]) + 1


def exercise_space(text: str, seconds: int = 20) -> tuple[str, list[str]]:
    """(outcome, problems) for one space: 'error', 'space' or 'spec'; 'escape' or 'hang' with
    the problem when the oracle fails."""
    from spachc.lang import space

    def run() -> tuple[str, list[str]]:
        diagnostics, census = check_text_with_census(text, "fuzz.spach")
        problems = [f"outside: {d.render()}" for d in diagnostics if not _inside(d, text)]
        if census is None or any(d.severity == "error" for d in diagnostics):
            return ("error" if any(d.severity == "error" for d in diagnostics) else "spec"), problems
        try:
            space.sample(parse_document(Source("fuzz.spach", text)), 2, seed=0, max_draws=200)
        except (space.TooFew, SpecError):
            pass
        return "space", problems

    try:
        return _with_alarm(seconds, run)
    except Hang as exc:
        return "hang", [str(exc)]
    except Exception as exc:  # noqa: BLE001 - an escape is exactly what the fuzzer records
        return "escape", [f"{type(exc).__name__}: {str(exc)[:300]}"]


# --- study folders ---------------------------------------------------------------------------------

BASE_SPEC = "model f\ninput 32\nclasses 10\nstem conv1 patch 4\n\nstage conv x1 dim 16\n"


def base_study(root: Path) -> Path:
    """A study of two samples with one finished-looking run each (files as spachc writes them)."""
    from spachc.lang.frontend import parse
    from spachc.lang.printer import to_text
    from spachc.sweep.study import write_study

    samples = []
    for dim in (16, 24):
        spec = parse(BASE_SPEC.replace("dim 16", f"dim {dim}"))
        samples.append({"text": to_text(spec), "hash": spec.hash, "choices": {"dim": str(dim)}, "params": 1000 + dim,
                        "macs": 5000 + dim, "name": spec.name})
    study = write_study(root, samples, space_name="f", space_text="x", seed=0, sampler="listed")
    (root / "settings.json").write_text(json.dumps({"data": "digits", "limit_train": None, "limit_val": None,
                                                    "seeds": [0], "recipe": {"epochs": 1}}))
    for s in study.samples:
        run = root / "runs" / f"{s.id}_seed0"
        run.mkdir(parents=True)
        (run / "result.json").write_text(json.dumps({"epochs_done": 1, "epochs": 1, "best_top1": 50.0,
                                                     "last": {"val_top1": 49.0}}))
        (run / "throughput.json").write_text(json.dumps({"images_per_s": 100.0}))
        (run / "sessions.jsonl").write_text('{"from_epoch": 0, "to_epoch": 1, "seconds": 1.5}\n')
        (run / "run.json").write_text(json.dumps({"spec_hash": s.hash}))
    return root


ODD_JSON = [None, True, 0, -1, 1e308, "", "../../escaped", "/etc/passwd", "s0000", [], {}, [1, 2], {"a": 1},
            "x" * 200, "specs/../../x.spach", "specs/s0001.spach", 3.5]


def _mutate_json(value, rng: random.Random, depth: int = 0):
    """Change one place of a JSON value: a type, a key removed or added, an id, deep nesting."""
    if isinstance(value, dict) and value and rng.random() < 0.8:
        key = rng.choice(list(value))
        op = rng.randrange(4)
        out = dict(value)
        if op == 0:
            del out[key]
        elif op == 1:
            out[key] = rng.choice(ODD_JSON)
        elif op == 2:
            out[rng.choice(["extra", "id", "deep"])] = rng.choice(ODD_JSON)
        else:
            out[key] = _mutate_json(value[key], rng, depth + 1)
        return out
    if isinstance(value, list) and value and rng.random() < 0.8:
        out = list(value)
        i = rng.randrange(len(out))
        op = rng.randrange(3)
        if op == 0:
            out.append(out[i])
        elif op == 1:
            del out[i]
        else:
            out[i] = _mutate_json(out[i], rng, depth + 1)
        return out
    return rng.choice(ODD_JSON)


def damage_study(root: Path, rng: random.Random) -> str:
    """One random damage to a study folder; returns what was done."""
    files = ["study.json", "settings.json", "runs/s0000_seed0/result.json", "runs/s0000_seed0/throughput.json",
             "runs/s0001_seed0/run.json", "runs/s0000_seed0/sessions.jsonl", "specs/s0000.spach"]
    name = rng.choice(files)
    path = root / name
    op = rng.randrange(6)
    if not path.is_file():
        return f"{name}: already gone"
    if name.endswith(".jsonl"):
        text = path.read_text()
        choices = [text + '{"from_epoch": 1, "sec', text + "garbage\n" + text, text + '{"seconds": "1"}\n',
                   text + "[" * 50_000 + "\n", ""]
        path.write_text(rng.choice(choices))
    elif name.endswith(".spach"):
        path.write_text(path.read_text().replace("dim 16", "dim 20") if op < 3 else "stage conv x1 dim {1 | 2}\n")
    elif op == 0:
        path.write_text("[" * 100_000 + "]" * 100_000)  # nested too deeply for Python's json
    elif op == 1:
        data = path.read_bytes()
        path.write_bytes(data[: rng.randrange(len(data) + 1)])  # truncated
    elif op == 2 and name != "study.json":
        path.unlink()
    elif op == 3:
        target = root / "runs" / "s0001_seed0"
        if target.is_symlink():
            return "symlinked run folder (already)"
        shutil.rmtree(target)
        target.symlink_to(root / "runs" / "s0000_seed0", target_is_directory=True)
        return "symlinked run folder"
    else:
        for _ in range(rng.randint(1, 3)):
            try:
                value = json.loads(path.read_text())
            except (ValueError, RecursionError):  # damaged by an earlier round
                value = {}
            path.write_text(json.dumps(_mutate_json(value, rng)))
    return f"{name}: op {op}"


def exercise_study(root: Path, seconds: int = 20) -> tuple[str, list[str]]:
    """Read a (damaged) study as `sweep run` and `sweep report` do: load, settings, each run's
    state, the report's rows. Returns (outcome, problems)."""
    from spachc.sweep import runner
    from spachc.sweep.report import collect
    from spachc.sweep.study import load_study

    def run() -> tuple[str, list[str]]:
        try:
            study = load_study(root)
            problems = [f"sample {s.id!r} leaves the study" for s in study.samples
                        if not (root / "runs" / f"{s.id}_seed0").resolve().is_relative_to(root.resolve() / "runs")
                        or not (root / s.file).resolve().is_relative_to(root.resolve())]
            settings = runner.saved_settings(root)
            for unit in runner.units(study, settings.seeds if settings else (0,)):
                runner.unit_state(study, unit)
            collect(study)
            return "read", problems
        except (DiagnosticError, SpecError) as exc:
            codes = {d.code for d in exc.diagnostics}
            return "coded", [] if codes and all(codes) else [f"uncoded: {exc}"]

    started = time.monotonic()
    try:
        outcome, problems = _with_alarm(seconds, run)
    except Hang as exc:
        return "hang", [str(exc)]
    except Exception as exc:  # noqa: BLE001
        return "escape", [f"{type(exc).__name__}: {str(exc)[:300]}"]
    if time.monotonic() - started > seconds:
        return "hang", ["over the time limit"]
    return outcome, problems
