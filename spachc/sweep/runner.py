"""`spachc sweep run`: train every sample of a study (or of one shard) as an ordinary run folder.

What makes it safe to kill and to run many times at once:
- a study is a list of runs, one per (sample, seed), each in runs/<id>_seed<k>/;
- a run is *done* when its folder has result.json (or failed.json: a run that diverged or
  failed with an error is a result too, and so is a sample the pre-flight check refused,
  preflight.py); done runs are skipped;
- every other run is trained with `--resume` semantics, so a run interrupted at any point
  continues from its last checkpoint and ends bit-identical to an uninterrupted one;
- a run is trained only under its claim (claims.py), so two workers never train one run;
- the data and recipe are fixed for the whole study by the first `sweep run` (settings.json),
  so every sample is trained the same way whichever machine or shard trains it.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from .claims import try_claim
from .halving import rung_units
from .preflight import failure_of, preflight, sample_spec, write_failure
from .settings import Settings, fix_settings, saved_settings  # noqa: F401 - the runner's names, kept here too
from .study import Study, append_line, check_run_folder, shard_of, write_atomically
from .units import (RESULT_FILE, SESSIONS_FILE, THROUGHPUT_FILE, Unit, finished, run_dir,  # noqa: F401
                    unit_state, units)


def _duration(seconds: float) -> str:
    seconds = int(round(seconds))
    if seconds >= 3600:
        return f"{seconds // 3600}h{seconds % 3600 // 60:02d}m"
    return f"{seconds // 60}m{seconds % 60:02d}s" if seconds >= 60 else f"{seconds}s"


@dataclass
class SweepProgress:
    """Progress printed between runs: runs done/left over all shards, and this worker's ETA from
    the mean time of the runs it trained from the start. `scope` names what `all_units` is: the
    whole study, or under successive halving the rung being trained (later rungs are not yet
    known, so a study-wide count would be wrong)."""

    study: Study
    all_units: list[Unit]
    mine: list[Unit]
    say: Callable[[str], None] = print
    whole_runs: list[float] = field(default_factory=list)
    scope: str = "study"

    def report(self) -> None:
        done = sum(finished(self.study, u) for u in self.all_units)
        mine_left = [u for u in self.mine if not finished(self.study, u)]
        eta = (f", ETA {_duration(len(mine_left) * sum(self.whole_runs) / len(self.whole_runs))}"
               if self.whole_runs and mine_left else "")
        self.say(f"{self.scope}: {done}/{len(self.all_units)} runs done, {len(self.all_units) - done} left; "
                 f"this worker: {len(mine_left)} of {len(self.mine)} left{eta}")


@dataclass
class SweepOptions:
    device: str = "auto"
    workers: int = 0
    log_every: int = 50
    shard: tuple[int, int] = (1, 1)
    max_runs: int | None = None  # train at most this many runs, then stop cleanly
    poll_seconds: float = 5.0  # successive halving: how often to look whether a rung is finished
    throughput: bool = True
    command: list[str] = field(default_factory=list)


def measure_throughput(spec, device: str) -> dict:
    """Inference images/s of the architecture (spachc bench's timing rules, batch 32)."""
    from ..runtime.bench import benchmark

    report = benchmark(spec, batch_size=32, mode="infer", device=device, steps=5, warmup=2)
    result = report.results[0]
    return {"images_per_s": result.images_per_s, "ms_per_step": result.ms_per_step, "batch_size": 32,
            "device": report.device_name, "threads": report.threads}


def run_study(study: Study, settings: Settings, options: SweepOptions) -> dict:
    """Train this worker's share of the study (rung after rung, with successive halving);
    returns counts of what happened."""
    from ..datasets import limited, open_dataset
    from ..train.distributed import shutdown, world_from_env

    dataset = limited(open_dataset(settings.data), settings.limit_train, settings.limit_val)
    world = world_from_env()
    say = (lambda text: print(text, flush=True)) if world.is_main else (lambda _text: None)
    counts = {"trained": 0, "skipped_done": 0, "held_elsewhere": 0, "failed": 0, "refused": 0}
    refused = preflight(study, settings, dataset)
    for sid, failure in refused.items():
        name = next(s.name for s in study.samples if s.id == sid)
        say(f"{sid} ({name}): cannot train with this study's data and recipe: {failure.line()}; skipped")
    try:
        if not settings.budgets:
            _train_units(study, units(study, settings.seeds), refused, dataset, settings, options, world, say, counts,
                         "study")
            return counts
        for rung, epochs in enumerate(settings.budgets):
            every = rung_units(study, settings, rung)
            say(f"rung {rung + 1} of {len(settings.budgets)}: {len(every) // len(settings.seeds)} sample(s) "
                f"x {len(settings.seeds)} seed(s), {epochs} epochs each")
            _train_units(study, every, refused, dataset, settings, options, world, say, counts,
                         f"rung {rung + 1} of {len(settings.budgets)}")
            if options.max_runs is not None and counts["trained"] >= options.max_runs:
                break
            _wait_for(study, every, say, options.poll_seconds)
        return counts
    finally:
        shutdown(world)  # the runs leave the process group up (keep_world); one job, one group


def _wait_for(study: Study, rung: list[Unit], say, poll_seconds: float) -> None:
    """Until every run of the rung is finished (by other workers or shards): a promotion is
    decided from the whole rung, and only from it."""
    told = False
    while not all(finished(study, u) for u in rung):
        if not told:
            left = sum(not finished(study, u) for u in rung)
            say(f"waiting for {left} run(s) of this rung that other workers or shards train")
            told = True
        time.sleep(poll_seconds)


def _train_units(study, every, refused, dataset, settings, options, world, say, counts, scope) -> None:
    mine = shard_of(tuple(every), *options.shard)
    progress = SweepProgress(study, every, mine, say, scope=scope)
    for unit in every:  # every worker finds the same refusals; each records them (same bytes)
        failure = refused.get(unit.sample.id)
        if failure is not None and world.is_main and unit_state(study, unit) in ("new", "started"):
            write_failure(run_dir(study, unit), failure)
    counts["refused"] += sum(u.sample.id in refused for u in mine)
    mine = [u for u in mine if u.sample.id not in refused]
    # Under torchrun the ranks of one job train each run together: every rank walks the same
    # list, decided once before any training, and the job takes no claims (give each job its
    # own --shard). Alone, a worker re-checks each run just before it and trains it under a claim.
    plan = [u for u in mine if not finished(study, u)] if world.distributed else mine
    counts["skipped_done"] += len(mine) - len(plan)
    progress.report()
    _train_plan(study, plan, dataset, settings, options, world, progress, counts)


def _train_plan(study, plan, dataset, settings, options, world, progress, counts) -> None:
    say = progress.say
    for unit in plan:
        if options.max_runs is not None and counts["trained"] >= options.max_runs:
            break
        if not world.distributed and finished(study, unit):
            spec = sample_spec(study, unit.sample, settings.overrides)  # E1305: the spec edited since
            check_run_folder(run_dir(study, unit), unit.sample, spec.hash)  # E1305: a folder of another spec
            counts["skipped_done"] += 1
            _fill_throughput(study, unit, options, settings.seeds[0], settings_overrides=settings.overrides)
            continue
        claim = None if world.distributed else try_claim(study.root / "runs" / f"{unit.name}.lock")
        if claim is None and not world.distributed:
            counts["held_elsewhere"] += 1
            say(f"{unit.name}: being trained by another worker; skipped")
            continue
        try:
            if not world.distributed and finished(study, unit):  # finished while we looked
                counts["skipped_done"] += 1
                continue
            train_claimed(study, unit, dataset, settings, options, world, progress, counts)
        finally:
            if claim is not None:
                claim.release()
        progress.report()


def train_claimed(study, unit, dataset, settings, options, world, progress, counts) -> None:
    """Train (or resume) one run whose claim the caller holds; a run that fails is recorded
    in its failed.json and counted, not raised (the ray engine calls this too)."""
    from ..lang.limits import DEFAULT_MAX_PARAMS, enforce
    from ..train.loop import Interrupted, RanksDiverged, RunOptions, Trainer
    from ..train.recipe import Recipe
    from ..train.run_folder import CheckpointWriteFailed

    say = progress.say
    spec = sample_spec(study, unit.sample, settings.overrides)  # E1305 when edited after sampling
    enforce(spec)
    out = run_dir(study, unit)
    check_run_folder(out, unit.sample, spec.hash)  # E1305: a folder swapped or linked from another sample
    say(f"{unit.name} ({spec.name}): " + ("resuming" if unit_state(study, unit) == "started" else "training")
        + f" -> {out}")
    recipe = Recipe.model_validate({**settings.recipe, "seed": unit.seed,
                                    **({"epochs": unit.epochs} if unit.epochs is not None else {})})
    epoch_before, started, trainer, whole = 0, time.perf_counter(), None, True
    try:
        trainer = Trainer(spec, dataset, recipe, RunOptions(
            out=out, device=options.device, workers=options.workers, resume=True,
            log_every=options.log_every, command=options.command, keep_world=True),
            max_params=DEFAULT_MAX_PARAMS)
        epoch_before = trainer.epoch
        restore = trainer.prepare

        def prepare_and_note_epoch():  # the epoch this session starts from is known once restored
            nonlocal epoch_before
            restore()
            epoch_before = trainer.epoch

        trainer.prepare = prepare_and_note_epoch
        trainer.run()
    except (Interrupted, RanksDiverged, CheckpointWriteFailed):
        raise  # a stop asked for, or a fault of the job rather than of this sample
    except Exception as exc:  # noqa: BLE001 - a run that fails (diverged, bad data, a bug in one
        # architecture) is a result of the study, not a stop: record it, go on with the rest
        failure, whole = failure_of(exc, "train"), False
        if world.is_main:
            write_failure(out, failure)
        counts["failed"] += 1
        say(f"{unit.name}: failed, {failure.line()}")
    finally:
        if world.is_main and trainer is not None:
            _log_session(out, epoch_before, trainer.epoch, time.perf_counter() - started)
    if epoch_before == 0 and whole:
        progress.whole_runs.append(time.perf_counter() - started)
    counts["trained"] += 1
    if world.is_main:
        _fill_throughput(study, unit, options, settings.seeds[0], spec)


def _log_session(out: Path, epoch_before: int, epoch_after: int, seconds: float) -> None:
    """One line per training session of a run (a run resumed after a kill has several; a
    SIGKILLed session leaves no line, so the summed time is a lower bound then)."""
    try:  # best effort: a run folder that cannot take the line must not hide the run's own error (E1005)
        append_line(out / SESSIONS_FILE, {"from_epoch": epoch_before, "to_epoch": epoch_after,
                                          "seconds": round(seconds, 3)})
    except OSError:
        pass


def _fill_throughput(study: Study, unit: Unit, options: SweepOptions, first_seed: int, spec=None,
                     settings_overrides: tuple[str, ...] = ()) -> None:
    """throughput.json beside the first seed's run, measured once per architecture (also for
    runs finished by a worker that was killed before it measured)."""
    out = run_dir(study, unit)
    path = out / THROUGHPUT_FILE
    if unit.seed != first_seed or not options.throughput or path.exists() or not (out / RESULT_FILE).exists():
        return
    if spec is None:
        spec = sample_spec(study, unit.sample, settings_overrides)
    write_atomically(path, json.dumps(measure_throughput(spec, options.device), indent=2) + "\n")
