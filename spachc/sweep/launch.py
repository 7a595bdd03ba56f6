"""`spachc.sweep.run(...)`: train every sample of a study, the work of `spachc sweep run`.

It settles the study's settings (settings.py) from the options given and those the study
already has: the first run fixes them, later ones must agree. Then it trains this worker's runs
(runner.py) or hands them to Ray (ray_engine.py), and returns a SweepRunReport of the counts.
Signals stop it between runs (E1040); a run in training checkpoints first (E1006).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ..diagnostics import UserError
from ..diagnostics.codes import E1002, E1324, E1325
from ..train.start import DEFAULT_WORKERS


@dataclass(frozen=True)
class SweepRunReport:
    """What this worker did with the study's runs."""

    trained: int  # runs trained (or resumed) here
    skipped_done: int  # already finished
    held_elsewhere: int  # being trained by another worker
    failed: int  # failed while training (each has its failed.json)
    refused: int  # refused before training by the pre-flight check
    is_main: bool = True  # False on the ranks of a torchrun job other than 0 (rank 0 speaks for it)


def run(study: str | Path, *, data: str | None = None, recipe: str | None = None, seeds=None,
        limit_train: int | None = None, limit_val: int | None = None, shard: str | None = None,
        max_runs: int | None = None, budgets=None, halving: int | None = None, min_epochs: int | None = None,
        max_epochs: int | None = None, ray: bool = False, ray_address: str | None = None,
        cpus_per_run: float = 1.0, gpus_per_run: float = 0.0, device: str = "auto", workers: int = DEFAULT_WORKERS,
        overrides=(), log_every: int = 50, throughput: bool = True, command: list[str] | None = None,
        **recipe_values) -> SweepRunReport:
    """Train every sample of the study folder `study` once per seed (skipping finished runs,
    resuming interrupted ones); returns a SweepRunReport. The arguments mirror `spachc sweep
    run`'s options: `seeds` is a list of ints (or the text "0,1"), `budgets` a list of epochs
    (or "2,6,18"), `shard` "K/N", `overrides` --set K=V, `throughput=False` is --no-throughput;
    every other keyword is a recipe field (epochs=1, ...). Data, recipe, seeds, limits and
    overrides are fixed for the study by its first run. `command` is recorded in each run folder
    as the command that trained it (the CLI passes its arguments)."""
    import json

    from ..datasets import DataError, open_dataset, worker_error_message
    from ..runtime.stopping import stop_on_signals
    from ..train.distributed import world_from_env
    from ..train.recipe import recipe_from_json, resolve_recipe
    from .halving import ladder
    from .runner import SweepOptions, run_study
    from .settings import Settings, fix_settings, saved_settings
    from .study import load_study, parse_shard

    flags = dict(recipe_values)
    try:
        loaded = load_study(Path(study))
        k_n = parse_shard(shard)
        saved = saved_settings(loaded.root)
        if saved is not None and recipe is None:
            base = recipe_from_json(json.dumps(saved.recipe))
            chosen = base.model_validate({**base.model_dump(), **flags})
        else:
            chosen = resolve_recipe(recipe or "spach", flags)
        seed_list = (_seeds(seeds) if seeds
                     else saved.seeds if saved is not None and "seed" not in flags else (chosen.seed,))
        recipe_json = {**json.loads(chosen.to_json()), "seed": seed_list[0]}  # each run's seed comes from seeds
        if budgets is not None or halving is not None:
            rungs = _budgets(budgets) if budgets is not None else ladder(halving, min_epochs, max_epochs)
            eta = halving if halving is not None else 3
            if eta < 2:
                ladder(eta, 1, 2)  # the same E1322 as --halving alone
            recipe_json["epochs"] = rungs[-1]  # each rung's runs take their own epochs (halving.py)
        else:
            rungs, eta = (saved.budgets, saved.eta) if saved is not None else ((), 3)
        overrides = tuple(overrides)
        wanted = Settings(data=data or (saved.data if saved else "digits"), recipe=recipe_json, seeds=seed_list,
                          limit_train=limit_train if limit_train is not None else (saved.limit_train if saved else None),
                          limit_val=limit_val if limit_val is not None else (saved.limit_val if saved else None),
                          overrides=overrides if overrides else (saved.overrides if saved else ()),
                          budgets=rungs, eta=eta)
        open_dataset(wanted.data)  # a wrong data fails before settings.json is written
        settings = fix_settings(loaded.root, wanted)
        options = SweepOptions(device=device, workers=workers, log_every=log_every, shard=k_n, max_runs=max_runs,
                               throughput=throughput, command=list(command or []))
        with stop_on_signals("sweep run"):  # between runs; a run in training checkpoints first (E1006)
            if ray:
                counts = _run_on_ray(loaded, settings, options, ray_address, cpus_per_run, gpus_per_run)
            else:
                counts = run_study(loaded, settings, options)
    except DataError as exc:  # raised in a DataLoader worker, it arrives wrapped in the worker's traceback
        raise DataError(worker_error_message(exc)) from None
    return SweepRunReport(**counts, is_main=world_from_env().is_main)


def _seeds(value) -> tuple[int, ...]:
    if not isinstance(value, str):
        return tuple(int(v) for v in value)
    parts = [p.strip() for p in value.split(",")]
    if not all(p.isdigit() for p in parts) or len(set(parts)) != len(parts):
        raise UserError(f"--seeds {value!r}: write distinct whole numbers separated by commas, e.g. 0,1", code=E1002)
    return tuple(int(p) for p in parts)


def _budgets(value) -> tuple[int, ...]:
    from .halving import parse_budgets

    return parse_budgets(value if isinstance(value, str) else ",".join(str(v) for v in value))


def _run_on_ray(study, settings, options, address, cpus, gpus) -> dict:
    """The Ray engine (ray_engine.py), its absence and its task failures as coded errors."""
    import importlib.util

    if importlib.util.find_spec("ray") is None:  # not imported here: ray_engine sets its environment first
        raise UserError("--ray needs Ray, which is not installed", code=E1324,
                        hint="pip install 'spachc[ray]'")
    from .ray_engine import RayOptions, run_on_ray

    try:
        return run_on_ray(study, settings, options, RayOptions(address, cpus, gpus))
    except Exception as exc:
        from ray.exceptions import RayError

        if not isinstance(exc, RayError):
            raise
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise UserError(f"a Ray task failed after its retries: {first}", code=E1325,
                        hint="run the same command again: finished runs are skipped, interrupted ones resume") from None
