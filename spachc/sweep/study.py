"""A study folder: the samples of a design space, as ordinary .spach files plus study.json.

    STUDY/study.json          format, version, the space's text and name, seed, sampler, and per
                              sample: id, spec file, spec hash, choices, params, MACs
    STUDY/specs/<id>.spach    each sample as a plain spec (canonical text)
    STUDY/settings.json       data, recipe and seeds, fixed by the first `sweep run`
    STUDY/runs/<id>_seed<k>/  the run folder of one sample and seed (what `spachc train` writes)
    STUDY/runs/<id>_seed<k>.lock   held (flock) by the process training that run

This module is torch-free: sampling and checking a study need no deep-learning stack.
"""

from __future__ import annotations

import json
import math
import os
import re
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from ..files.atomic import temporary_beside
from ..files.atomic import write_atomically as _write_atomically
from ..files.jsonfile import read_format_file
from ..diagnostics import UserError

STUDY_FILE = "study.json"
SETTINGS_FILE = "settings.json"
STUDY_FORMAT = "spachc-study"
STUDY_VERSION = 1


class StudyError(UserError):
    """A study folder that cannot be used as asked; `code` is its diagnostic code."""

    code = "E1301"


@dataclass(frozen=True)
class Sample:
    id: str
    file: str  # relative to the study folder
    hash: str
    choices: dict
    params: int
    macs: int
    name: str = ""


@dataclass(frozen=True)
class Study:
    root: Path
    samples: tuple[Sample, ...]
    space_name: str | None = None
    space_text: str | None = None
    seed: int | None = None
    sampler: str = "listed"
    extra: dict = field(default_factory=dict)

    def to_json(self) -> dict:
        return {"format": STUDY_FORMAT, "version": STUDY_VERSION, "space": self.space_name,
                "space_text": self.space_text, "seed": self.seed, "sampler": self.sampler, **self.extra,
                "samples": [vars(s) for s in self.samples]}


# --- writing files safely --------------------------------------------------------------------

def unwritable(path: Path, exc: OSError) -> StudyError:
    """E1312: a study file or folder the OS refuses to write (read-only runs/, a full disk)."""
    return StudyError(f"{path}: cannot write it ({exc.strerror or exc})", code="E1312",
                      hint="make the study folder (and its runs/) writable, or copy the study somewhere writable")


def write_atomically(path: Path, text: str) -> None:
    """Readers see the old file or the new one, never a part (spachc.files.atomic: temp file + rename)."""
    try:
        _write_atomically(path, text.encode("utf-8"))
    except OSError as exc:
        raise unwritable(path, exc) from None


def create_exclusively(path: Path, text: str) -> bool:
    """Write `path` only if no file is there, atomically, even with several writers racing
    (complete temp file, then a hard link that fails if the name exists). True if we wrote it."""
    try:
        tmp = temporary_beside(path)
    except OSError as exc:
        raise unwritable(path, exc) from None
    try:
        with open(tmp, "w", encoding="utf-8") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        try:
            os.link(tmp, path)
            return True
        except FileExistsError:
            return False
    except OSError as exc:
        raise unwritable(path, exc) from None
    finally:
        Path(tmp).unlink(missing_ok=True)


def append_line(path: Path, record: dict) -> None:
    """One JSON line appended with a single write(2) to an O_APPEND file: concurrent appends
    never interleave, and a crash leaves at most a torn last line, which readers skip."""
    data = (json.dumps(record) + "\n").encode("utf-8")
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        os.write(fd, data)
    finally:
        os.close(fd)


# --- reading a study's files: every field checked, a coded error (E1311) otherwise ------------

MAX_JSON_BYTES = 16 * 1024 * 1024  # a study file is kilobytes; more is not one of ours


def read_json(path: Path, *, missing_ok: bool = False):
    """The JSON value in `path` (None if absent and `missing_ok`), or E1311 naming the file:
    unreadable, too large, not JSON, or nested too deeply for Python to read."""
    try:
        if path.stat().st_size > MAX_JSON_BYTES:
            raise StudyError(f"{path}: {path.stat().st_size:,} bytes; a study file is at most {MAX_JSON_BYTES:,}",
                             code="E1311")
        return json.loads(path.read_text(encoding="utf-8"))
    except (FileNotFoundError, NotADirectoryError):
        if missing_ok:
            return None
        raise StudyError(f"{path}: no such file", code="E1311") from None
    except RecursionError:
        raise StudyError(f"{path}: nested too deeply to be a study file", code="E1311") from None
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise StudyError(f"{path}: cannot read it as JSON ({exc})", code="E1311") from None


def _is_int(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value) -> bool:
    return (_is_int(value) or isinstance(value, float)) and math.isfinite(value)


def _wrong(path: Path, field_name: str, wanted: str, value) -> StudyError:
    shown = json.dumps(value)
    shown = shown if len(shown) <= 60 else shown[:60] + "..."
    return StudyError(f"{path}: \"{field_name}\" must be {wanted}, not {shown}", code="E1311",
                      hint="this file is written by spachc; restore it, or delete it to have it written again")


def checked_fields(path: Path, data, fields: dict) -> dict:
    """`data` as a JSON object whose listed fields have the listed kinds: "int" (>= 0),
    "number" (finite), "str", "dict", "dict?" (an object or null, may be left out), "seeds"
    (a non-empty list of distinct ints >= 0), "limit" (null or an int >= 1, may be left out),
    "strs?", "budgets?" (lists of strings, of ints >= 1), "eta?" (an int >= 2); a kind ending in
    "?" may be left out. Unlisted fields pass."""
    if not isinstance(data, dict):
        raise StudyError(f"{path}: must be a JSON object, not {type(data).__name__}", code="E1311")
    kinds = {
        "int": ("a whole number >= 0", lambda v: _is_int(v) and v >= 0),
        "number": ("a finite number", _is_number),
        "str": ("a string", lambda v: isinstance(v, str)),
        "dict": ("an object", lambda v: isinstance(v, dict)),
        "dict?": ("an object or null", lambda v: v is None or isinstance(v, dict)),
        "seeds": ("a non-empty list of distinct whole numbers >= 0",
                  lambda v: isinstance(v, list) and v and all(_is_int(x) and x >= 0 for x in v)
                  and len(set(v)) == len(v)),
        "limit": ("null or a whole number >= 1", lambda v: v is None or (_is_int(v) and v >= 1)),
        "strs?": ("a list of strings", lambda v: isinstance(v, list) and all(isinstance(x, str) for x in v)),
        "budgets?": ("a list of whole numbers >= 1", lambda v: isinstance(v, list) and all(_is_int(x) and x >= 1
                                                                                          for x in v)),
        "eta?": ("a whole number >= 2", lambda v: _is_int(v) and v >= 2),
    }
    for name, kind in fields.items():
        if name not in data:
            if kind == "limit" or kind.endswith("?"):  # may be left out
                continue
            raise StudyError(f"{path}: no \"{name}\"", code="E1311",
                             hint="this file is written by spachc; restore it, or delete it to have it written again")
        wanted, ok = kinds[kind]
        if not ok(data[name]):
            raise _wrong(path, name, wanted, data[name])
    return data


SETTINGS_FIELDS = {"data": "str", "recipe": "dict", "seeds": "seeds", "limit_train": "limit", "limit_val": "limit",
                   "set": "strs?", "budgets": "budgets?", "eta": "eta?"}
RESULT_FIELDS = {"epochs_done": "int", "epochs": "int", "best_top1": "number", "last": "dict?"}
THROUGHPUT_FIELDS = {"images_per_s": "number"}


def read_result(path: Path) -> dict | None:
    """A run's result.json, checked (also its `last` epoch's val_top1); None if absent."""
    data = read_json(path, missing_ok=True)
    if data is None:
        return None
    checked_fields(path, data, RESULT_FIELDS)
    if data.get("last") is not None:
        checked_fields(path, data["last"], {"val_top1": "number"})
    return data


def read_throughput(path: Path) -> dict | None:
    data = read_json(path, missing_ok=True)
    return None if data is None else checked_fields(path, data, THROUGHPUT_FIELDS)


def session_seconds(path: Path) -> float:
    """The summed seconds of a run's sessions.jsonl (0 if absent). A torn last line (a crash
    mid-append: no newline at its end) is skipped; any other bad line is E1311."""
    try:
        text = path.read_text(encoding="utf-8")
    except (FileNotFoundError, NotADirectoryError):
        return 0.0
    except (OSError, UnicodeDecodeError) as exc:
        raise StudyError(f"{path}: cannot read it ({exc})", code="E1311") from None
    lines = text.split("\n")
    total = 0.0
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except (ValueError, RecursionError):
            if number == len(lines):  # the last line, with no newline after it: torn by a crash
                continue
            raise StudyError(f"{path}: line {number} is not JSON", code="E1311") from None
        total += checked_fields(path, record, {"seconds": "number"})["seconds"]
    return total


# --- the samples and runs of a study must stay inside it and match their hashes ---------------

SAMPLE_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,63}")
SAMPLE_FIELDS = {"id": "str", "file": "str", "hash": "str", "choices": "dict", "params": "int", "macs": "int"}


def _checked_sample(path: Path, root: Path, raw) -> Sample:
    checked_fields(path, raw, SAMPLE_FIELDS)
    if not isinstance(raw.get("name", ""), str):
        raise _wrong(path, "name", "a string", raw["name"])
    if not all(isinstance(k, str) and isinstance(v, str) for k, v in raw["choices"].items()):
        raise _wrong(path, "choices", "an object of strings", raw["choices"])
    sid, file = raw["id"], raw["file"]
    if not SAMPLE_ID.fullmatch(sid):
        raise StudyError(f"{path}: sample id {json.dumps(sid)[:80]} is not allowed (letters, digits, '_' and '-', "
                         "at most 64): a run folder is named after it and must stay inside the study", code="E1310")
    relative = PurePosixPath(file)
    inside = (root / file).resolve(strict=False).is_relative_to(root.resolve())
    if relative.is_absolute() or ".." in relative.parts or "\\" in file or not file.endswith(".spach") or not inside:
        raise StudyError(f"{path}: sample {sid}'s spec file {json.dumps(file)[:80]} is not a .spach file inside the "
                         "study", code="E1310")
    unknown = set(raw) - set(SAMPLE_FIELDS) - {"name"}
    if unknown:
        raise StudyError(f"{path}: sample {sid} has unknown fields: {', '.join(sorted(unknown))}", code="E1311")
    return Sample(**raw)


def sample_spec(study: "Study", sample: Sample):
    """The sample's spec, checked against the hash sampled into study.json (E1305 when the
    file was edited since). Torch-free."""
    from ..lang.frontend import load

    path = study.root / sample.file
    spec = load(path)
    if spec.hash != sample.hash:
        raise StudyError(f"{path}: the spec's hash {spec.hash[:12]} is not the study's {sample.hash[:12]}; "
                         "the file was edited after sampling", code="E1305",
                         hint="restore the file (study.json holds the space and the choices), or sample a new study")
    return spec


def check_run_folder(run: Path, sample: Sample, expected: str | None = None) -> None:
    """E1305 when the run folder was trained on another spec than the sample's: a folder
    swapped, copied or linked from another sample. The spec hash is read from run.json and
    from the weights files spachc wrote there (torch-free). `expected`: the hash of the spec
    the study trains (the sample's, with the study's `--set` overrides applied)."""
    expected = expected or sample.hash
    recorded = []
    info = read_json(run / "run.json", missing_ok=True)
    if info is not None:
        if not isinstance(info, dict) or not isinstance(info.get("spec_hash", ""), str):
            raise StudyError(f"{run / 'run.json'}: not a run record (an object with a string spec_hash)",
                             code="E1311")
        if "spec_hash" in info:
            recorded.append(("run.json", info["spec_hash"]))
    for name in ("last.safetensors", "best.safetensors"):
        if (run / name).is_file():
            from ..model_io.metadata import SPEC_HASH
            from ..model_io.weights_header import read_metadata

            recorded.append((name, read_metadata(run / name).get(SPEC_HASH, expected)))
    for name, spec_hash in recorded:
        if spec_hash != expected:
            where = f" (a link to {run.resolve()})" if run.is_symlink() else ""
            raise StudyError(f"{run}{where}: its {name} was trained on spec {spec_hash[:12]}, not sample "
                             f"{sample.id}'s {expected[:12]}: the run folder belongs to another spec",
                             code="E1305", hint=f"move it away; `spachc sweep run` trains {sample.id} again")


# --- making and reading studies --------------------------------------------------------------

def sample_id(index: int) -> str:
    return f"s{index:04d}"


def write_study(root: Path, samples: list[dict], *, space_name: str | None = None, space_text: str | None = None,
                seed: int | None = None, sampler: str = "listed", extra: dict | None = None) -> Study:
    """Write specs/<id>.spach and study.json for `samples` (dicts with text, hash, choices,
    params, macs, name). Refuses a folder that already holds a different study."""
    root = Path(root)
    built = []
    for i, s in enumerate(samples):
        sid = sample_id(i)
        built.append(Sample(id=sid, file=f"specs/{sid}.spach", hash=s["hash"], choices=dict(s["choices"]),
                            params=int(s["params"]), macs=int(s["macs"]), name=s.get("name", "")))
    study = Study(root, tuple(built), space_name, space_text, seed, sampler, dict(extra or {}))
    text = json.dumps(study.to_json(), indent=2) + "\n"
    existing = root / STUDY_FILE
    if existing.exists():
        if existing.read_text(encoding="utf-8") == text:
            return study
        raise StudyError(f"{root}: already holds a different study ({STUDY_FILE}); choose another -o folder",
                         code="E1302")
    for sample, s in zip(built, samples):
        write_atomically(root / sample.file, s["text"])
    write_atomically(existing, text)
    return study


def load_study(root: Path) -> Study:
    root = Path(root)
    path = root / STUDY_FILE
    if root.exists() and not root.is_dir():
        raise StudyError(f"{root}: not a study folder (a study is a folder holding {STUDY_FILE})")
    try:
        data = read_format_file(path, what="spachc study file", format=STUDY_FORMAT, version=STUDY_VERSION,
                                version_key="version", error=StudyError,
                                missing=f"{path}: no such file; make a study with `spachc sweep sample SPACE -n N -o "
                                f"{root}`")
    except RecursionError:
        raise StudyError(f"{path}: nested too deeply to be a study file", code="E1311") from None
    if not isinstance(data.get("samples"), list):
        raise StudyError(f"{path}: malformed samples list (\"samples\" must be a list)", code="E1311")
    samples = tuple(_checked_sample(path, root, s) for s in data["samples"])
    ids = [s.id for s in samples]
    if len(set(ids)) != len(ids):
        twice = next(i for i in ids if ids.count(i) > 1)
        raise StudyError(f"{path}: sample id {twice} is listed twice", code="E1311")
    known = {"format", "version", "space", "space_text", "seed", "sampler", "samples"}
    return Study(root, samples, data.get("space"), data.get("space_text"), data.get("seed"),
                 data.get("sampler", "listed"), {k: v for k, v in data.items() if k not in known})


# --- shards ------------------------------------------------------------------------------------

def parse_shard(text: str | None) -> tuple[int, int]:
    """'K/N' (1 <= K <= N) -> (K, N); None -> (1, 1)."""
    if text is None:
        return 1, 1
    try:
        k, n = (int(part) for part in text.split("/"))
    except ValueError:
        raise StudyError(f"--shard {text!r}: write K/N with whole numbers, e.g. --shard 2/4", code="E1303") from None
    if not 1 <= k <= n:
        raise StudyError(f"--shard {text}: need 1 <= K <= N", code="E1303")
    return k, n


def shard_of(items: tuple, k: int, n: int) -> list:
    """Shard K of N: items K-1, K-1+N, K-1+2N, ... in study order. Fixed by the study alone,
    so every machine of a job array computes the same split without talking to the others."""
    return [s for i, s in enumerate(items) if i % n == k - 1]
