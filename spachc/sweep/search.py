"""`spachc sweep search SPACE -n N -o STUDY`: NSGA-II (Optuna, extra `spachc[search]`) steers the
samples of a study toward the front of several objectives instead of drawing them at random.

The trials are ordinary samples of the study, trained by `sweep run` (locally, on shards, on
Ray). One search step: (1) every trial whose sample has finished training on every seed is told
its objective values (a failed sample is told FAIL); (2) new trials are asked until the study
holds N samples: each choice of the space is one categorical Optuna parameter, a combination
that is invalid or misses `where` is told FAIL at once (the constraint stays the space's own),
and one that gives an architecture the study already has is told FAIL as a duplicate. Loop:

    spachc sweep search battle -n 8  -o S --objectives top1,macs && spachc sweep run S ...
    spachc sweep search battle -n 16 -o S && spachc sweep run S ...    # the next generation

The Optuna study lives in the study folder (STUDY/search.journal, JournalFileBackend), so every
worker that shares the folder shares one search, and a killed step loses nothing: the journal
and study.json are only appended to, under one lock (STUDY/search.lock).

Objectives: top1 (maximised: mean best validation top-1 over seeds), params and macs
(minimised: counted from the spec), img/s (maximised: throughput.json; run without
--no-throughput). NSGA-II's first generation (--population trials) is random; later ones breed
from the finished trials of the one before.

`spachc.sweep.search(SPACE, N, out=STUDY)` is `search_study`: the module is callable (as
spachc.export is), so the name is both the library function and the module of its parts.
"""

from __future__ import annotations

import json
import sys
import types
from dataclasses import dataclass
from pathlib import Path

from ..diagnostics import UserError
from ..diagnostics.codes import E1326, E1327
from .study import STUDY_FILE, sample_id, write_atomically

JOURNAL_FILE, LOCK_FILE = "search.journal", "search.lock"
OBJECTIVES = {"top1": "maximize", "params": "minimize", "macs": "minimize", "img/s": "maximize"}


class SearchError(UserError):
    code = E1326


def parse_objectives(text: str) -> tuple[str, ...]:
    names = tuple(p.strip() for p in text.split(",") if p.strip())
    unknown = [n for n in names if n not in OBJECTIVES]
    if not names or unknown or len(set(names)) != len(names):
        raise SearchError(f"--objectives {text!r}: name distinct objectives among {', '.join(OBJECTIVES)}",
                          hint="e.g. --objectives top1,macs")
    return names


def _optuna_study(root: Path, objectives: tuple[str, ...], population: int, seed: int):
    import optuna
    from optuna.storages import JournalStorage
    from optuna.storages.journal import JournalFileBackend

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    storage = JournalStorage(JournalFileBackend(str(root / JOURNAL_FILE)))
    sampler = optuna.samplers.NSGAIISampler(population_size=population, seed=seed)
    study = optuna.create_study(study_name="spachc", storage=storage, sampler=sampler, load_if_exists=True,
                                directions=[OBJECTIVES[o] for o in objectives])
    saved = study.user_attrs.get("objectives")
    if saved is None:
        study.set_user_attr("objectives", list(objectives))
    elif tuple(saved) != objectives:
        raise SearchError(f"{root}: this search optimises {','.join(saved)}, not {','.join(objectives)}",
                          hint="a search keeps its objectives; start another study folder for others")
    return study


def _values(rows_by_id: dict, sid: str, objectives: tuple[str, ...]) -> list[float] | None | str:
    """The trial's objective values, 'fail' for a sample that failed, None while it trains."""
    row = rows_by_id.get(sid)
    if row is None or row.status in ("pending", "partial"):
        return None
    if row.status == "failed":
        return "fail"
    values = {"top1": row.best_top1, "params": row.params, "macs": row.macs, "img/s": row.images_per_s}
    if any(values[o] is None for o in objectives):
        return None  # throughput not measured yet
    return [float(values[o]) for o in objectives]


def search_step(space_path: Path, root: Path, n: int, objectives: tuple[str, ...], population: int, seed: int,
                max_asks: int | None = None) -> dict:
    """Tell what finished, then ask until the study holds `n` samples; returns counts."""
    import optuna

    from ..lang.frontend import load_space
    from ..lang.printer import to_text
    from ..lang.space import choices_of, dimensions, evaluate
    from .claims import try_claim
    from .report import collect
    from .settings import saved_settings
    from .study import load_study, write_study

    doc = load_space(space_path)
    dims = dimensions(doc)
    root.mkdir(parents=True, exist_ok=True)
    while (claim := try_claim(root / LOCK_FILE)) is None:
        import time

        time.sleep(0.5)
    try:
        if not (root / STUDY_FILE).exists():
            write_study(root, [], space_name=space_path.stem, space_text=doc.source.text, seed=seed,
                        sampler=f"NSGA-II (Optuna) on {','.join(objectives)}",
                        extra={"dimensions": {d.label: list(d.texts) for d in dims}, "search": list(objectives)})
        study = load_study(root)
        if "search" not in study.extra:
            raise SearchError(f"{root}: holds a study that no search made; choose another -o folder")
        ostudy = _optuna_study(root, objectives, population, seed)
        counts = {"told": 0, "failed": 0, "asked": 0, "rejected": 0}
        if saved_settings(root) is not None and study.samples:
            rows = {r.id: r for r in collect(study)}
            for trial in ostudy.get_trials(deepcopy=False, states=(optuna.trial.TrialState.RUNNING,)):
                sid = trial.user_attrs.get("sample")
                values = _values(rows, sid, objectives) if sid else None
                if values == "fail":
                    ostudy.tell(trial.number, state=optuna.trial.TrialState.FAIL)
                    counts["failed"] += 1
                elif values is not None:
                    ostudy.tell(trial.number, values)
                    counts["told"] += 1
        samples = [dict(vars(s)) for s in study.samples]
        known = {s["hash"] for s in samples}
        asks, limit = 0, max_asks or max(50 * n, 500)
        new = []
        while len(samples) + len(new) < n and asks < limit:
            asks += 1
            trial = ostudy.ask()
            texts = [trial.suggest_categorical(d.label, list(d.texts)) for d in dims]
            picks = tuple(d.texts.index(t) for d, t in zip(dims, texts))
            o = evaluate(doc, dims, picks)
            if o.spec is None or not o.meets or o.spec.hash in known:
                trial.set_user_attr("rejected", "invalid" if o.spec is None else "outside where" if not o.meets
                                    else "duplicate")
                ostudy.tell(trial, state=optuna.trial.TrialState.FAIL)
                counts["rejected"] += 1
                continue
            sid = sample_id(len(samples) + len(new))
            spec = o.spec.model_copy(update={"name": f"{o.spec.name}_{sid}"})
            trial.set_user_attr("sample", sid)
            known.add(o.spec.hash)
            new.append({"text": to_text(spec), "hash": spec.hash, "choices": choices_of(dims, picks),
                        "params": o.params, "macs": o.macs, "name": spec.name})
            counts["asked"] += 1
        if new:
            _append(root, new)
        return counts
    finally:
        claim.release()


def _append(root: Path, new: list[dict]) -> None:
    """Add samples to study.json (specs first, then the index, each written atomically)."""
    path = root / STUDY_FILE
    data = json.loads(path.read_text(encoding="utf-8"))
    start = len(data["samples"])
    for i, s in enumerate(new, start):
        sid = sample_id(i)
        write_atomically(root / f"specs/{sid}.spach", s["text"])
        data["samples"].append({"id": sid, "file": f"specs/{sid}.spach", "hash": s["hash"], "choices": s["choices"],
                                "params": int(s["params"]), "macs": int(s["macs"]), "name": s["name"]})
    write_atomically(path, json.dumps(data, indent=2) + "\n")


@dataclass(frozen=True)
class SearchReport:
    """One search step: trials told (and of them failed), samples asked, asks rejected."""

    out: Path
    told: int
    failed: int
    asked: int
    rejected: int  # invalid, outside `where`, or duplicates


def search_study(space: str | Path, n: int, *, out: str | Path, objectives="top1,macs", population: int = 8,
                 seed: int = 0) -> SearchReport:
    """One NSGA-II step over the choices of `space` (a .spach design space or a bundled one):
    tell the finished trials of the study folder `out` (created by the first step), then ask new
    samples until it holds `n`; returns a SearchReport. `objectives`: among top1, params, macs,
    img/s, as text ("top1,macs") or a list; fixed by the first step. Needs Optuna (spachc[search])."""
    import importlib.util

    from .create import locate_space

    wanted = parse_objectives(objectives if isinstance(objectives, str) else ",".join(objectives))
    if importlib.util.find_spec("optuna") is None:
        raise UserError("sweep search needs Optuna, which is not installed", code=E1327,
                        hint="pip install 'spachc[search]'")
    out = Path(out)
    counts = search_step(locate_space(space), out, n, wanted, population, seed)
    return SearchReport(out=out, **counts)


class _SearchModule(types.ModuleType):
    def __call__(self, space: str | Path, n: int, **kwargs) -> SearchReport:
        """spachc.sweep.search(space, n, out=...) -> SearchReport: see search_study."""
        return search_study(space, n, **kwargs)


sys.modules[__name__].__class__ = _SearchModule
