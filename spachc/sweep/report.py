"""`spachc sweep report STUDY`: one table and a few plots from a study's run folders.

    results.csv / results.json   one row per sample (choices, family, params, MACs, throughput,
                                 best and final top-1 averaged over seeds, per-seed values, time)
    report.md                    the summary: settings, families, seed spread, Pareto front, table
    edf.png                      error EDF per family and per choice (pycls's plot_edf)
    pareto.png                   top-1 against MACs and against params, Pareto front marked
    choices.png                  for each choice (and family, stage count): top-1 per value

Torch-free: it reads JSON files and spec text only.

`spachc.sweep.report(STUDY)` is `report_study`: the module is callable (as spachc.export is), so
the name is both the library function and the module of its parts.
"""

from __future__ import annotations

import csv
import io
import json
import statistics
import sys
import types
from dataclasses import dataclass
from pathlib import Path

from ..lang.choices import acting_choices
from .analysis import (choice_labels, facets, group_stats, pareto_front, readable_label,  # noqa: F401 - report's names too
                       seed_spread)
from .preflight import read_failure, sample_spec
from .settings import saved_settings
from .study import Study, StudyError, check_run_folder, read_result, read_throughput, session_seconds, write_atomically
from .units import RESULT_FILE, SESSIONS_FILE, THROUGHPUT_FILE, Unit, run_dir, units
from ..diagnostics.codes import E1306

FAMILY_ORDER = ("conv", "trans", "mlp")


def family_of(spec) -> str:
    """The block kinds a network uses: 'conv', 'trans', 'mlp', or a hybrid such as 'conv+trans'."""
    kinds = {g.kind for stage in spec.stages for g in stage.groups}
    ordered = sorted(kinds, key=lambda k: (FAMILY_ORDER.index(k) if k in FAMILY_ORDER else len(FAMILY_ORDER), k))
    return "+".join(ordered)


def stages_of(spec) -> str:
    return "single-stage" if len(spec.stages) == 1 else "multi-stage"


def _acting(choices: dict, spec) -> dict:
    """The choices that acted on this network: not those inside pipelines it did not take,
    nor stage options that no block kind of the network reads (heads without attention)."""
    from ..lang.options import STAGE_OPTIONS

    kinds = {g.kind for stage in spec.stages for g in stage.groups}
    kept = {}
    for label, value in acting_choices(choices).items():
        option = STAGE_OPTIONS.get(label.rsplit(".", 1)[-1])
        if option is None or option.applies(kinds):
            kept[label] = value
    return kept


def _mean(values) -> float | None:
    """Mean top-1 over seeds, rounded so that equal accuracies compare equal (85.8, not
    85.80000000000001), which the Pareto front's strict comparison relies on."""
    values = list(values)
    return round(statistics.fmean(values), 6) if values else None


@dataclass
class Row:
    id: str
    name: str
    hash: str
    family: str
    stages: str
    choices: dict
    params: int
    macs: int
    images_per_s: float | None
    best_top1: float | None  # mean over the seeds that finished
    final_top1: float | None
    best_top1_per_seed: dict
    final_top1_per_seed: dict
    seeds_done: int
    seeds_failed: int
    train_seconds: float
    status: str  # done, partial, failed, pending
    failures: dict  # seed -> "error[CODE]: message" (stage check: refused before training)
    epochs: int | None = None  # successive halving: the budget of the highest rung the sample reached

    @property
    def error(self) -> float | None:
        return None if self.best_top1 is None else 100.0 - self.best_top1


def collect(study: Study) -> list[Row]:
    settings = saved_settings(study.root)
    if settings is None:
        raise StudyError(f"{study.root}: nothing trained yet (no settings.json); run `spachc sweep run {study.root}`",
                         code=E1306)
    all_units = units(study, settings.seeds)
    if settings.budgets:  # successive halving: each sample's results at the highest rung it reached
        from .halving import rungs

        top = {s.id: r.epochs for r in rungs(study, settings) for s in r.samples}
        all_units = [Unit(s, seed, top.get(s.id, settings.budgets[0])) for s in study.samples for seed in settings.seeds]
    rows = []
    for sample in study.samples:
        spec = sample_spec(study, sample, settings.overrides)  # E1305 when edited after sampling
        mine: list[Unit] = [u for u in all_units if u.sample.id == sample.id]
        best, final, seconds, failed, throughput, failures = {}, {}, 0.0, 0, None, {}
        for unit in mine:
            out = run_dir(study, unit)
            if out.exists():
                check_run_folder(out, sample, spec.hash)  # E1305: a folder swapped or linked from another sample
            result = read_result(out / RESULT_FILE)
            if result and result.get("epochs_done", 0) >= result.get("epochs", 1) and result.get("last"):
                best[str(unit.seed)] = result["best_top1"]
                final[str(unit.seed)] = result["last"]["val_top1"]
            elif (failure := read_failure(out)) is not None:
                failed += 1
                failures[str(unit.seed)] = ("refused before training: " if failure.stage == "check" else "") \
                    + failure.line()
            seconds += session_seconds(out / SESSIONS_FILE)
            measured = read_throughput(out / THROUGHPUT_FILE)
            if measured and throughput is None:
                throughput = measured["images_per_s"]
        status = ("done" if len(best) == len(mine) else "failed" if failed and not best
                  else "partial" if best or failed else "pending")
        rows.append(Row(
            id=sample.id, name=spec.name, hash=sample.hash, family=family_of(spec), stages=stages_of(spec),
            choices=_acting(dict(sample.choices), spec), params=sample.params, macs=sample.macs, images_per_s=throughput,
            best_top1=_mean(best.values()), final_top1=_mean(final.values()),
            best_top1_per_seed=best, final_top1_per_seed=final, seeds_done=len(best), seeds_failed=failed,
            train_seconds=round(seconds, 3), status=status, failures=failures,
            epochs=mine[0].epochs if mine else None))
    return rows


# --- files -------------------------------------------------------------------------------------

def _flat(row: Row) -> dict:
    data = {k: v for k, v in vars(row).items()
            if k not in ("choices", "best_top1_per_seed", "final_top1_per_seed", "failures")}
    for label, value in sorted(row.choices.items()):
        data[f"choice:{label}"] = value
    data["best_top1_per_seed"] = ";".join(f"{s}:{v:.4f}" for s, v in sorted(row.best_top1_per_seed.items()))
    data["failures"] = ";".join(f"{s}:{v}" for s, v in sorted(row.failures.items()))
    return data


def results_csv(rows: list[Row]) -> str:
    flat = [_flat(r) for r in rows]
    columns = list(dict.fromkeys(k for f in flat for k in f))
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=columns, lineterminator="\n")
    writer.writeheader()
    for f in flat:
        writer.writerow({k: "" if f.get(k) is None else f.get(k, "") for k in columns})
    return buffer.getvalue()


def _pct(value: float | None) -> str:
    return "—" if value is None else f"{value:.2f}"


def _si(n: float) -> str:
    for unit, size in (("G", 1e9), ("M", 1e6), ("K", 1e3)):
        if abs(n) >= size:
            return f"{n / size:.2f}{unit}"
    return f"{n:g}"


def missing_families(study: Study, rows: list[Row]) -> list[str]:
    """Families the space allows (its `choose family` values, else conv, trans and mlp) that
    no sample of the study has: a small random draw can miss one, and a table by family
    would then say nothing of it without this note."""
    possible = study.extra.get("dimensions", {}).get("family") or list(FAMILY_ORDER)
    present = {r.family for r in rows}
    return [f for f in possible if f not in present]


def halving_section(study: Study, settings) -> list[str]:
    """Per rung: how many trained, their top-1, who went on; the compute spent against training
    every sample at the top budget; the Spearman rank correlation of consecutive rungs (over the
    samples both trained, i.e. those promoted: a range-restricted sample, so it understates how
    well the low rung ranks the whole population)."""
    from .halving import compute, rungs
    from .ranks import spearman

    decided = rungs(study, settings)
    names = {s.id: s.name for s in study.samples}
    lines = [f"## Successive halving (eta {settings.eta}, budgets {', '.join(map(str, settings.budgets))} epochs)", "",
             "Each rung trains a complete schedule of its own length (fresh runs, not continued ones).", "",
             "| rung | epochs | samples | finished | best top-1 | median top-1 | rank correlation with the rung before |",
             "|---:|---:|---:|---:|---:|---:|---|"]
    for i, r in enumerate(decided):
        accs = list(r.scores.values())
        rho_text = "—"
        if i > 0:
            both = [sid for sid in r.scores if sid in decided[i - 1].scores]
            rho = spearman([decided[i - 1].scores[s] for s in both], [r.scores[s] for s in both])
            rho_text = "—" if rho is None else f"{rho:.3f} (Spearman, {len(both)} samples)"
        lines.append(f"| {i + 1} | {r.epochs} | {len(r.samples)} | {len(accs)} | {_pct(max(accs) if accs else None)} | "
                     f"{_pct(statistics.median(accs) if accs else None)} | {rho_text} |")
    lines.append("")
    for i, r in enumerate(decided[1:], 1):
        lines.append(f"- promoted to rung {i + 1} ({r.epochs} epochs): " + ", ".join(names[s.id] for s in r.samples))
    spent = compute(study, settings)
    lines += ["", f"**Compute**: {spent['epochs']} run-epochs against {spent['epochs_all_at_top']} for every sample at "
              f"{settings.budgets[-1]} epochs ({spent['epochs'] / spent['epochs_all_at_top']:.0%}); weighted by MACs per "
              f"image, {spent['macs_epochs'] / spent['macs_epochs_all_at_top']:.0%}.", ""]
    return lines


def markdown(study: Study, rows: list[Row], plots: list[str]) -> str:
    settings = saved_settings(study.root)
    lines = [f"# Study report: {study.space_name or study.root.name}", ""]
    recipe = settings.recipe
    lines += [f"- samples: {len(rows)} ({sum(r.status == 'done' for r in rows)} done on every seed, "
              f"{sum(r.status == 'pending' for r in rows)} not started, {sum(r.status == 'failed' for r in rows)} "
              f"failed: see Failures); sampler: {study.sampler}" + (f", seed {study.seed}" if study.seed is not None else ""),
              f"- data: `{settings.data}`" + (f" (train limited to {settings.limit_train})" if settings.limit_train else "")
              + (f" (val limited to {settings.limit_val})" if settings.limit_val else ""),
              f"- recipe: {recipe['epochs']} epochs, batch {recipe['batch_size']}, peak lr "
              f"{recipe['lr'] if recipe.get('lr') is not None else 'scaled'}, seeds {', '.join(map(str, settings.seeds))}",
              ""]
    if settings.budgets:
        lines += halving_section(study, settings)
    missing = missing_families(study, rows)
    if missing:
        lines += [f"**No sample of family {', '.join(missing)}**: the study says nothing about "
                  f"{'it' if len(missing) == 1 else 'them'}; `spachc sweep sample SPACE --stratify family` draws equal "
                  "counts per family.", ""]
    spread = seed_spread(rows)
    if spread:
        lines += [f"**Seed-to-seed spread**: over {spread['samples']} samples trained with every seed, best top-1 "
                  f"differs between seeds by {spread['mean_range']:.2f} points on average "
                  f"({spread['max_range']:.2f} at most).", ""]
    for key, groups in facets(rows).items():
        shown = readable_label(key)
        lines += [f"## By {shown}", "", f"| {shown} | samples | finished | best top-1 | mean | median | worst |",
                  "|---|---:|---:|---:|---:|---:|---:|"]
        for value, members in groups.items():
            g = group_stats(members)
            lines.append(f"| {value} | {g['n']} | {g['done']} | {_pct(g['best'])} | {_pct(g['mean'])} | "
                         f"{_pct(g['median'])} | {_pct(g['worst'])} |")
        lines.append("")
    for cost in ("macs", "params"):
        front = pareto_front(rows, cost)
        shown = "MACs" if cost == "macs" else cost
        lines += [f"## Pareto front: top-1 against {shown}", "",
                  ", ".join(f"{r.name} ({r.family}, {_si(getattr(r, cost))}, {r.best_top1:.2f}%)" for r in front) or "—",
                  ""]
    if plots:
        lines += ["## Plots", ""] + [f"![{p}]({p})" for p in plots] + [""]
    labels = choice_labels(rows)
    header = ["name", "family", "stages", *map(readable_label, labels), "params", "MACs", "img/s", "best top-1", "final top-1",
              "per seed", "time (s)", "status"]
    lines += ["## All samples (by best top-1)", "", "| " + " | ".join(header) + " |",
              "|" + "---|" * len(header)]
    for r in sorted(rows, key=lambda r: (r.best_top1 is None, -(r.best_top1 or 0), r.id)):
        seeds = " / ".join(f"{v:.2f}" for _, v in sorted(r.best_top1_per_seed.items()))
        cells = [r.name, r.family, r.stages, *(str(r.choices.get(c, "—")) for c in labels), _si(r.params),
                 _si(r.macs), "—" if r.images_per_s is None else f"{r.images_per_s:,.0f}", _pct(r.best_top1),
                 _pct(r.final_top1), seeds or "—", f"{r.train_seconds:.0f}", r.status]
        lines.append("| " + " | ".join(cells) + " |")
    failed = [r for r in rows if r.failures]
    if failed:
        lines += ["", "## Failures", "", "Runs that were refused before training (their spec cannot train with this "
                  "study's data and recipe) or failed while training; `failed.json` in each run folder has the record.",
                  ""]
        lines += [f"- {r.name} ({r.id}), seed {seed}: {text}" for r in failed for seed, text in sorted(r.failures.items())]
    return "\n".join(lines) + "\n"


def write_report(study: Study) -> dict:
    """Write every file of the report into the study folder; returns their paths and the rows."""
    from .plots import choices_png, edf_png, pareto_png

    rows = collect(study)
    written = {}
    write_atomically(study.root / "results.csv", results_csv(rows))
    payload = [{**vars(r), "error": r.error} for r in rows]
    write_atomically(study.root / "results.json", json.dumps(payload, indent=2) + "\n")
    written.update(csv=study.root / "results.csv", json=study.root / "results.json")
    plots = []
    if any(r.best_top1 is not None for r in rows):
        grouped = facets(rows)
        for name, data in (("edf.png", edf_png(grouped)), ("pareto.png", pareto_png(rows)),
                           ("choices.png", choices_png(grouped))):
            if data is not None:
                (study.root / name).write_bytes(data)
                plots.append(name)
    written["plots"] = [study.root / p for p in plots]
    write_atomically(study.root / "report.md", markdown(study, rows, plots))
    written["markdown"] = study.root / "report.md"
    written["rows"] = rows
    return written


@dataclass(frozen=True)
class SweepReport:
    """The report files written into a study folder, and the rows they were made from."""

    rows: list  # Row, one per sample
    markdown: Path  # report.md
    csv: Path  # results.csv
    json: Path  # results.json
    plots: list  # the .png files drawn (none before any sample has a result)

    @property
    def done(self) -> int:
        """Samples with results."""
        return sum(r.best_top1 is not None for r in self.rows)


def report_study(study: str | Path) -> SweepReport:
    """results.csv, results.json, report.md and plots from the runs of the study folder `study`
    (runs in progress count as pending); returns a SweepReport."""
    from .study import load_study

    written = write_report(load_study(Path(study)))
    return SweepReport(rows=written["rows"], markdown=written["markdown"], csv=written["csv"], json=written["json"],
                       plots=written["plots"])


class _ReportModule(types.ModuleType):
    def __call__(self, study: str | Path) -> SweepReport:
        """spachc.sweep.report(study) -> SweepReport: see report_study."""
        return report_study(study)


sys.modules[__name__].__class__ = _ReportModule
