"""Successive halving: train every sample at a small budget, keep the best 1/eta for the next.

    spachc sweep run STUDY --budgets 2,6,18            # rungs of 2, 6 and 18 epochs, eta 3
    spachc sweep run STUDY --halving 3 --min-epochs 2 --max-epochs 18   # the same ladder

Rung 0 trains every (sample, seed) for budgets[0] epochs; rung r+1 trains the best
ceil(n_r / eta) samples of rung r (by validation top-1, the mean over seeds of each run's best;
failed runs are never promoted; ties go to the earlier sample) for budgets[r+1] epochs.

**Each budget is a complete schedule of its own length** (NATS-Bench's protocol): a rung-1 run
of 6 epochs is a fresh run whose warm-up and cosine decay span 6 epochs, in its own folder
runs/<id>_seed<k>_e6/, not the 2-epoch run continued. Why: a cut schedule ranks networks at a
learning rate still near its peak, where the ones that happen to sit in a good spot of a noisy
trajectory win, and continuing it means either a schedule no final run ever uses (restarted
decay) or knowing the final length in advance (then the low rung is not a complete run and its
ranking is not that of a short training). A complete short schedule is a real, reproducible
training of that length: its ranking is what the rank correlation in the report measures, and
every rung's run folder is an ordinary one that `spachc eval/export` accept. The cost: the low
rungs are not reused (at eta 3 and budgets b, 3b, 9b, the extra compute is the low rungs' share).

A promotion is decided from the result files of its rung alone, the same on every worker: with
`--shard K/N` each worker trains its share of a rung, then waits (polling) until the rung's
last run is finished by whichever worker holds it, and takes its share of the next rung.
"""

from __future__ import annotations

import json
import math
import statistics
from dataclasses import dataclass

from ..diagnostics import UserError
from ..diagnostics.codes import E1322
from .settings import Settings
from .study import Study
from .units import RESULT_FILE, Unit, finished, run_dir


class HalvingError(UserError):
    code = E1322


def parse_budgets(text: str) -> tuple[int, ...]:
    """'2,6,18' -> (2, 6, 18): whole epochs, strictly increasing."""
    parts = [p.strip() for p in text.split(",")]
    if not all(p.isdigit() and int(p) >= 1 for p in parts):
        raise HalvingError(f"--budgets {text!r}: write epochs as whole numbers >= 1, e.g. --budgets 2,6,18")
    budgets = tuple(int(p) for p in parts)
    if any(b >= c for b, c in zip(budgets, budgets[1:])):
        raise HalvingError(f"--budgets {text}: each rung must train longer than the one before")
    return budgets


def ladder(eta: int, min_epochs: int | None, max_epochs: int | None) -> tuple[int, ...]:
    """min, min*eta, min*eta^2, ... below max, then max: --halving 3 --min-epochs 2 --max-epochs 18 -> 2, 6, 18."""
    if eta < 2:
        raise HalvingError(f"--halving {eta}: eta is how many samples compete for one place in the next rung; "
                           "use 2 or more")
    if min_epochs is None or max_epochs is None or not 1 <= min_epochs < max_epochs:
        raise HalvingError("--halving needs --min-epochs A and --max-epochs B with 1 <= A < B "
                           "(or give the rungs as --budgets 2,6,18)")
    budgets = [min_epochs]
    while budgets[-1] * eta < max_epochs:
        budgets.append(budgets[-1] * eta)
    return (*budgets, max_epochs)


def _result(study: Study, unit: Unit) -> dict | None:
    try:
        data = json.loads((run_dir(study, unit) / RESULT_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if data.get("epochs_done", 0) >= data.get("epochs", 1) else None


def scores(study: Study, rung_units: list[Unit]) -> dict[str, float]:
    """Sample id -> mean best top-1 over its seeds at this rung (samples with every seed done)."""
    per: dict[str, list[float | None]] = {}
    for u in rung_units:
        r = _result(study, u)
        per.setdefault(u.sample.id, []).append(None if r is None else r["best_top1"])
    return {sid: round(statistics.fmean(v), 6) for sid, v in per.items() if v and None not in v}


def keep(n: int, eta: int) -> int:
    return max(1, math.ceil(n / eta))


def rung_units(study: Study, settings: Settings, rung: int) -> list[Unit] | None:
    """The runs of rung `rung`, or None while the rung before it is not finished."""
    samples = list(study.samples)
    for r in range(rung + 1):
        units = [Unit(s, seed, settings.budgets[r]) for s in samples for seed in settings.seeds]
        if r == rung:
            return units
        if not all(finished(study, u) for u in units):
            return None
        score = scores(study, units)
        order = sorted((s for s in samples if s.id in score), key=lambda s: (-score[s.id], samples.index(s)))
        kept = {s.id for s in order[:keep(len(samples), settings.eta)]}
        samples = [s for s in samples if s.id in kept]
    return None  # not reached


@dataclass(frozen=True)
class Rung:
    epochs: int
    samples: list  # Sample
    scores: dict  # sample id -> mean best top-1 (finished samples)
    finished: bool


def rungs(study: Study, settings: Settings) -> list[Rung]:
    """Every rung decided so far, with its scores (for the report)."""
    found = []
    for r, epochs in enumerate(settings.budgets):
        units = rung_units(study, settings, r)
        if units is None:
            break
        samples = list({u.sample.id: u.sample for u in units}.values())
        found.append(Rung(epochs, samples, scores(study, units), all(finished(study, u) for u in units)))
    return found


def compute(study: Study, settings: Settings) -> dict:
    """Training spent (epochs, and epochs x MACs per image) against training every sample at the
    top budget; each counted once per seed."""
    spent = sum(len(r.samples) * r.epochs for r in rungs(study, settings)) * len(settings.seeds)
    spent_macs = sum(s.macs * r.epochs for r in rungs(study, settings) for s in r.samples) * len(settings.seeds)
    full = len(study.samples) * settings.budgets[-1] * len(settings.seeds)
    full_macs = sum(s.macs for s in study.samples) * settings.budgets[-1] * len(settings.seeds)
    return {"epochs": spent, "epochs_all_at_top": full, "macs_epochs": spent_macs, "macs_epochs_all_at_top": full_macs}
