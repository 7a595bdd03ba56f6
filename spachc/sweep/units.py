"""The runs of a study: one per (sample, seed), each an ordinary run folder under runs/, and
its state read from the files in it. The runner trains them, successive halving ranks them, the
report reads them: all three import this, and it imports none of them.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from .preflight import FAILED_FILE
from .study import Sample, Study, read_result

RESULT_FILE = "result.json"
THROUGHPUT_FILE, SESSIONS_FILE = "throughput.json", "sessions.jsonl"


@dataclass(frozen=True)
class Unit:
    """One run of a study: a sample trained with one seed, in runs/<id>_seed<seed>/; in a
    successive-halving study, a complete schedule of `epochs`, in runs/<id>_seed<seed>_e<epochs>/."""

    sample: Sample
    seed: int
    epochs: int | None = None  # None: the recipe's

    @property
    def name(self) -> str:
        return f"{self.sample.id}_seed{self.seed}" + (f"_e{self.epochs}" if self.epochs is not None else "")


def units(study: Study, seeds: tuple[int, ...]) -> list[Unit]:
    """Sample-major: s0000_seed0, s0000_seed1, s0001_seed0, ..."""
    return [Unit(s, seed) for s in study.samples for seed in seeds]


def run_dir(study: Study, unit: Unit) -> Path:
    return study.root / "runs" / unit.name


def unit_state(study: Study, unit: Unit) -> str:
    """'done', 'failed', 'started' (a checkpoint exists) or 'new'."""
    run = run_dir(study, unit)
    result = read_result(run / RESULT_FILE)  # checked: a wrongly typed file is E1311
    if result is not None and result["epochs_done"] >= result["epochs"]:
        return "done"
    if (run / FAILED_FILE).exists():
        return "failed"
    return "started" if (run / "state.pt").exists() else "new"


def finished(study: Study, unit: Unit) -> bool:
    return unit_state(study, unit) in ("done", "failed")
