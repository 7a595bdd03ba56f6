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
import os
from dataclasses import dataclass, field
from pathlib import Path

from ..atomic import temporary_beside
from ..atomic import write_atomically as _write_atomically
from ..jsonfile import read_format_file
from ..lang.diagnostics import UserError

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

def write_atomically(path: Path, text: str) -> None:
    """Readers see the old file or the new one, never a part (spachc.atomic: temp file + rename)."""
    _write_atomically(path, text.encode("utf-8"))


def create_exclusively(path: Path, text: str) -> bool:
    """Write `path` only if no file is there, atomically, even with several writers racing
    (complete temp file, then a hard link that fails if the name exists). True if we wrote it."""
    tmp = temporary_beside(path)
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
    finally:
        Path(tmp).unlink(missing_ok=True)


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
    data = read_format_file(path, what="spachc study file", format=STUDY_FORMAT, version=STUDY_VERSION,
                            version_key="version", error=StudyError,
                            missing=f"{path}: no such file; make a study with `spachc sweep sample SPACE -n N -o {root}`")
    try:
        samples = tuple(Sample(**s) for s in data["samples"])
    except (KeyError, TypeError) as exc:
        raise StudyError(f"{path}: malformed samples list ({exc})") from None
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
