"""`spachc sweep sample|new|run|report`: design-space studies (spachc/sweep/, spachc/lang/space.py).

`sample` draws a study from a space (torch-free); `new` makes one of hand-picked specs; `run` trains every (sample, seed) of a study with one recipe, safe to kill and to run as many
workers or shards at once; `report` turns the run folders into a table and plots.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Optional

import typer

from .common import DEFAULT_WORKERS, SET_OPTION_HELP, UserError, err, out, reports_errors
from .train_cmd import _with_recipe_flags, parse_recipe_flags

sweep_app = typer.Typer(name="sweep", help="Design-space studies: sample a space, train every sample, report.",
                        no_args_is_help=True, add_completion=False, pretty_exceptions_enable=False)


def _study_error(exc) -> UserError:
    return UserError(str(exc), code=exc.code, hint=exc.hint)


def _locate_space(name: str) -> Path:
    """A space file, or a bundled space by name (`battle`)."""
    from ..lang.resources import space_names, spaces_dir

    path = Path(name)
    if path.is_file() or "/" in name or name.endswith(".spach"):
        return path
    if name in space_names():
        return spaces_dir() / f"{name}.spach"
    return path  # the front end reports the missing file (E006)


def sample_command(
    space: str = typer.Argument(..., help="A .spach design space, or a bundled one: battle."),
    n: int = typer.Option(..., "-n", min=1, help="How many distinct architectures to draw."),
    seed: int = typer.Option(0, "--seed", min=0, help="Seed of the draw: the same seed gives the same study."),
    out_dir: Path = typer.Option(..., "-o", "--out", help="The study folder to create."),
    max_draws: int = typer.Option(None, "--max-draws", min=1, help="Give up after this many random draws "
                                  "(default max(50 n, 5000)); spaces small enough to enumerate need none."),
    stratify: str = typer.Option(None, "--stratify", metavar="CHOICE", help="Equal counts per value of this "
                                 "choice (e.g. family): each value gets n // k samples, the first n % k one more."),
) -> None:
    """Draw N distinct architectures uniformly from a space (meeting its `where`) into a study."""
    import time

    from ..lang.frontend import load_space
    from ..lang.printer import to_text
    from ..lang.space import TooFew, choices_of, dimensions, sample
    from ..sweep.stratify import UnknownChoice, stratified_sample
    from ..sweep.study import StudyError, write_study

    path = _locate_space(space)
    doc = load_space(path)
    started = time.perf_counter()
    try:
        outcomes, how = (stratified_sample(doc, n, seed, stratify, max_draws) if stratify
                         else sample(doc, n, seed, max_draws))
    except TooFew as exc:
        raise UserError(str(exc), code="E1307") from None
    except UnknownChoice as exc:
        raise UserError(str(exc), code="E1320", hint="name a `choose NAME` of the space, or a label that "
                        "`spachc check` prints for it") from None
    dims = dimensions(doc)
    base = outcomes[0].spec.name if outcomes else "sample"
    samples = []
    for i, o in enumerate(outcomes):
        spec = o.spec.model_copy(update={"name": f"{base}_s{i:04d}"})
        samples.append({"text": to_text(spec), "hash": spec.hash, "choices": choices_of(dims, o.picks),
                        "params": o.params, "macs": o.macs, "name": spec.name})
    extra = {**how, "dimensions": {d.label: list(d.texts) for d in dims}}
    try:
        write_study(out_dir, samples, space_name=path.stem, space_text=doc.source.text, seed=seed,
                    sampler=how.pop("sampler"), extra={k: v for k, v in extra.items() if k != "sampler"})
    except StudyError as exc:
        raise _study_error(exc) from None
    out.print(f"{out_dir}: {len(samples)} architecture(s) from {path} (seed {seed}, {how['draws']:,} draws of "
              f"{how['combinations']:,} combinations, {time.perf_counter() - started:.1f}s); train them with "
              + _run_hint(out_dir, outcomes[0].spec if outcomes else None))


def _run_hint(out_dir: Path, spec) -> str:
    """How to train the study: data the samples fit and a recipe for it. The built-in
    `animals` is 28x28 grey with 10 classes; the paper's 300-epoch `spach` recipe (the
    default) is for ImageNet-sized data, so small data wants `--recipe quick`."""
    if spec is not None and tuple(spec.input) == (28, 28) and spec.channels == 1 and spec.classes == 10:
        return f"`spachc sweep run {out_dir} --data animals --recipe quick`"
    return (f"`spachc sweep run {out_dir} --data DATA --recipe quick` (quick suits small data; leave it out for "
            "the paper's 300-epoch spach recipe on ImageNet-sized data)")


def new_command(
    specs: list[str] = typer.Argument(..., help="Spec files or zoo names: the samples, in this order."),
    out_dir: Path = typer.Option(..., "-o", "--out", help="The study folder to create."),
    set_: list[str] = typer.Option([], "--set", metavar="K=V", help=SET_OPTION_HELP + " Applied to every spec "
                                   "before it is written into the study."),
) -> None:
    """A study of hand-picked specs (each a plain .spach file or zoo name)."""
    from ..lang.frontend import load
    from ..lang.printer import to_text
    from ..lang.summary import summary
    from ..sweep.study import StudyError, write_study

    samples, first = [], None
    for name in specs:
        spec = load(name, list(set_))
        first = first or spec
        s = summary(spec)
        samples.append({"text": to_text(spec), "hash": spec.hash, "choices": {}, "params": s.params,
                        "macs": s.macs, "name": spec.name})
    try:
        study = write_study(out_dir, samples, sampler="listed")
    except StudyError as exc:
        raise _study_error(exc) from None
    out.print(f"{out_dir}: a study of {len(study.samples)} spec(s); train it with " + _run_hint(out_dir, first))


def run_command(
    study_dir: Path = typer.Argument(..., help="The study folder (holding study.json)."),
    data: str = typer.Option(None, "--data", help="Image-folder tree or built-in dataset (digits, animals); "
                             "fixed for the study by its first run."),
    recipe: str = typer.Option(None, "--recipe", help="spach or quick (default: the study's, else spach)."),
    seeds: str = typer.Option(None, "--seeds", help="Train each sample once per seed, e.g. 0,1 "
                              "(default: the recipe's --seed)."),
    limit_train: int = typer.Option(None, "--limit-train", min=1, help="Use at most N training images "
                                    "(balanced over classes): quick studies and tests."),
    limit_val: int = typer.Option(None, "--limit-val", min=1, help="Use at most N validation images."),
    shard: str = typer.Option(None, "--shard", help="K/N: train only shard K of N (runs K-1, K-1+N, ...), "
                              "for job arrays over several machines sharing the folder."),
    max_runs: int = typer.Option(None, "--max-runs", min=1, help="Train at most N runs, then stop."),
    budgets: str = typer.Option(None, "--budgets", metavar="E1,E2,..", help="Successive halving: rungs of E1, "
                                "E2, ... epochs, each a complete schedule; the best 1/eta of a rung go on."),
    halving: int = typer.Option(None, "--halving", metavar="ETA", help="Successive halving keeping the best "
                                "1/ETA per rung (default 3 with --budgets); with --min-epochs/--max-epochs it "
                                "makes the rungs min, min*ETA, ... max."),
    min_epochs: int = typer.Option(None, "--min-epochs", min=1, help="With --halving: the first rung's epochs."),
    ray: bool = typer.Option(False, "--ray", help="Train each run as a Ray task (needs the ray extra of spachc); without "
                             "--ray-address or RAY_ADDRESS, on a private local Ray listening on 127.0.0.1 only."),
    ray_address: str = typer.Option(None, "--ray-address", metavar="ADDRESS", help="With --ray: auto, "
                                    "ray://HOST:10001 or HOST:PORT, as in ray.init (default: RAY_ADDRESS)."),
    cpus_per_run: float = typer.Option(1.0, "--cpus-per-run", min=0.0, help="With --ray: CPUs of each run's task "
                                       "(torch gets that many threads)."),
    gpus_per_run: float = typer.Option(0.0, "--gpus-per-run", min=0.0, help="With --ray: GPUs of each run's task; "
                                       "a fraction packs several runs on one GPU."),
    max_epochs: int = typer.Option(None, "--max-epochs", min=1, help="With --halving: the last rung's epochs."),
    device: str = typer.Option("auto", "--device", help="auto, cpu or cuda."),
    workers: int = typer.Option(DEFAULT_WORKERS, "--workers", min=0, help="DataLoader worker processes per run."),
    set_: list[str] = typer.Option([], "--set", metavar="K=V", help=SET_OPTION_HELP + " Applied to every sample; "
                                   "fixed for the study by its first run, like the recipe."),
    log_every: int = typer.Option(50, "--log-every", min=1, help="Without a terminal: a progress line every N steps."),
    no_throughput: bool = typer.Option(False, "--no-throughput", help="Skip the inference-speed measurement "
                                       "after each run."),
    **recipe_flags: Optional[str],
) -> None:
    """Train every sample of a study (skipping finished runs, resuming interrupted ones)."""
    import json

    from ..train import run_folder as ckpt
    from ..runtime.stopping import stop_on_signals
    from ..sweep.runner import Settings, SweepOptions, fix_settings, run_study, saved_settings
    from ..sweep.halving import ladder, parse_budgets
    from ..sweep.study import StudyError, load_study, parse_shard
    from ..datasets import DataError, open_dataset, worker_error_message
    from ..train.loop import ResumeRefused, SetupError, TrainingError
    from ..train.recipe import RecipeError, recipe_from_json, resolve_recipe

    try:
        study = load_study(study_dir)
        k_n = parse_shard(shard)
        saved = saved_settings(study.root)
        flags = parse_recipe_flags(recipe_flags)
        if saved is not None and recipe is None:
            base = recipe_from_json(json.dumps(saved.recipe))
            chosen = base.model_validate({**base.model_dump(), **flags})
        else:
            chosen = resolve_recipe(recipe or "spach", flags)
        seed_list = (_parse_seeds(seeds) if seeds
                     else saved.seeds if saved is not None and "seed" not in flags else (chosen.seed,))
        recipe_json = {**json.loads(chosen.to_json()), "seed": seed_list[0]}  # each run's seed comes from seeds
        if budgets is not None or halving is not None:
            rungs = parse_budgets(budgets) if budgets is not None else ladder(halving, min_epochs, max_epochs)
            eta = halving if halving is not None else 3
            if eta < 2:
                ladder(eta, 1, 2)  # the same E1322 as --halving alone
            recipe_json["epochs"] = rungs[-1]  # each rung's runs take their own epochs (halving.py)
        else:
            rungs, eta = (saved.budgets, saved.eta) if saved is not None else ((), 3)
        wanted = Settings(data=data or (saved.data if saved else "digits"), recipe=recipe_json, seeds=seed_list,
                          limit_train=limit_train if limit_train is not None else (saved.limit_train if saved else None),
                          limit_val=limit_val if limit_val is not None else (saved.limit_val if saved else None),
                          overrides=tuple(set_) if set_ else (saved.overrides if saved else ()),
                          budgets=rungs, eta=eta)
        open_dataset(wanted.data)  # a wrong --data fails before settings.json is written
        settings = fix_settings(study.root, wanted)
        options = SweepOptions(device=device, workers=workers, log_every=log_every, shard=k_n, max_runs=max_runs,
                               throughput=not no_throughput, command=sys.argv[1:])
        with stop_on_signals("sweep run"):  # between runs; a run in training checkpoints first (E1006)
            if ray:
                counts = _run_on_ray(study, settings, options, ray_address, cpus_per_run, gpus_per_run)
            else:
                counts = run_study(study, settings, options)
    except StudyError as exc:
        raise _study_error(exc) from None
    except TrainingError as exc:
        stopped = str(exc).split("; continue with")[0]
        err.print(f"error[{exc.code}]: {exc}" if exc.exit_code not in (128 + 2, 128 + 15)
                  else f"stopped[{exc.code}]: {stopped}; run the same `spachc sweep run` again to continue", markup=False)
        raise typer.Exit(exc.exit_code) from None
    except ValueError as exc:
        if isinstance(exc, DataError):
            raise UserError(worker_error_message(exc), code="E1001") from None
        if isinstance(exc, RecipeError):
            raise UserError(str(exc), code="E1002") from None
        if isinstance(exc, (ResumeRefused, ckpt.CheckpointReadError)):
            raise UserError(str(exc), code="E1003") from None
        if isinstance(exc, SetupError):
            raise UserError(str(exc), code="E1008") from None
        raise
    from ..train.distributed import world_from_env

    if not world_from_env().is_main:  # under torchrun, rank 0 speaks for the job
        return
    out.print(f"sweep: trained {counts['trained']} run(s), {counts['skipped_done']} already finished, "
              f"{counts['held_elsewhere']} held by other workers, {counts['failed']} failed while training, "
              f"{counts['refused']} refused before training (the report lists failures with their reasons)")


def _run_on_ray(study, settings, options, address, cpus, gpus) -> dict:
    """The Ray engine (spachc/sweep/ray_engine.py), its absence and its task failures as coded errors."""
    import importlib.util

    if importlib.util.find_spec("ray") is None:  # not imported here: ray_engine sets its environment first
        raise UserError("--ray needs Ray, which is not installed", code="E1324",
                        hint="pip install 'spachc[ray]'")
    from ..sweep.ray_engine import RayOptions, run_on_ray

    try:
        return run_on_ray(study, settings, options, RayOptions(address, cpus, gpus))
    except Exception as exc:
        from ray.exceptions import RayError

        if not isinstance(exc, RayError):
            raise
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise UserError(f"a Ray task failed after its retries: {first}", code="E1325",
                        hint="run the same command again: finished runs are skipped, interrupted ones resume") from None


def _parse_seeds(text: str) -> tuple[int, ...]:
    parts = [p.strip() for p in text.split(",")]
    if not all(p.isdigit() for p in parts) or len(set(parts)) != len(parts):
        raise UserError(f"--seeds {text!r}: write distinct whole numbers separated by commas, e.g. 0,1", code="E1002")
    return tuple(int(p) for p in parts)


def report_command(study_dir: Path = typer.Argument(..., help="The study folder.")) -> None:
    """results.csv, results.json, report.md and plots from a study's runs (runs in progress count as pending)."""
    from ..sweep.report import write_report
    from ..sweep.study import StudyError, load_study

    try:
        written = write_report(load_study(study_dir))
    except StudyError as exc:
        raise _study_error(exc) from None
    rows = written["rows"]
    done = sum(r.best_top1 is not None for r in rows)
    out.print(f"report of {len(rows)} sample(s) ({done} with results): {written['markdown']}, {written['csv']}, "
              f"{written['json']}" + "".join(f", {p}" for p in written["plots"]))


def search_command(
    space: str = typer.Argument(..., help="A .spach design space, or a bundled one: battle."),
    n: int = typer.Option(..., "-n", min=1, help="Grow the study to N samples (trials)."),
    out_dir: Path = typer.Option(..., "-o", "--out", help="The study folder (created by the first search)."),
    objectives: str = typer.Option("top1,macs", "--objectives", help="Comma-separated among top1 (max), params "
                                   "(min), macs (min), img/s (max); fixed by the first search."),
    population: int = typer.Option(8, "--population", min=2, help="NSGA-II population: trials per generation."),
    seed: int = typer.Option(0, "--seed", min=0, help="Seed of the sampler."),
) -> None:
    """NSGA-II over the space's choices (Optuna): tell finished trials, ask new ones as samples of the study."""
    import importlib.util

    from ..sweep.search import parse_objectives, search_step
    from ..sweep.study import StudyError

    wanted = parse_objectives(objectives)
    if importlib.util.find_spec("optuna") is None:
        raise UserError("sweep search needs Optuna, which is not installed", code="E1327",
                        hint="pip install 'spachc[search]'")
    try:
        counts = search_step(_locate_space(space), out_dir, n, wanted, population, seed)
    except StudyError as exc:
        raise _study_error(exc) from None
    out.print(f"{out_dir}: told {counts['told']} finished trial(s) ({counts['failed']} failed), asked "
              f"{counts['asked']} new sample(s) ({counts['rejected']} rejected: invalid, outside `where` or "
              f"duplicates); train them with `spachc sweep run {out_dir}`, then search again")


def register(app: typer.Typer) -> None:
    sweep_app.command("sample")(reports_errors(sample_command))
    sweep_app.command("new")(reports_errors(new_command))
    sweep_app.command("run", context_settings={"max_content_width": 120})(
        reports_errors(_with_recipe_flags(run_command)))
    sweep_app.command("report")(reports_errors(report_command))
    sweep_app.command("search")(reports_errors(search_command))
    app.add_typer(sweep_app, name="sweep")
