"""`spachc sweep sample|new|run|report`: design-space studies (spachc/sweep/, spachc/lang/space.py).

`sample` draws a study from a space (torch-free); `new` makes one of hand-picked specs; `run` trains every (sample, seed) of a study with one recipe, safe to kill and to run as many
workers or shards at once; `report` turns the run folders into a table and plots.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Optional

import typer

from .common import DEFAULT_WORKERS, SET_OPTION_HELP, device_option, err, out, reports_errors
from .train_cmd import _with_recipe_flags, parse_recipe_flags

sweep_app = typer.Typer(name="sweep", help="Design-space studies: sample a space, train every sample, report.",
                        no_args_is_help=True, add_completion=False, pretty_exceptions_enable=False)


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
    from ..sweep.create import sample

    report = sample(space, n, out=out_dir, seed=seed, max_draws=max_draws, stratify=stratify)
    out.print(f"{out_dir}: {report.samples} architecture(s) from {report.space} (seed {seed}, {report.draws:,} draws "
              f"of {report.combinations:,} combinations, {report.seconds:.1f}s); train them with "
              + _run_hint(out_dir, report.first_spec))


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
    from ..sweep.create import new

    report = new(specs, out=out_dir, overrides=set_)
    out.print(f"{out_dir}: a study of {report.samples} spec(s); train it with " + _run_hint(out_dir, report.first_spec))


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
    device: str = device_option(),
    workers: int = typer.Option(DEFAULT_WORKERS, "--workers", min=0, help="DataLoader worker processes per run."),
    set_: list[str] = typer.Option([], "--set", metavar="K=V", help=SET_OPTION_HELP + " Applied to every sample; "
                                   "fixed for the study by its first run, like the recipe."),
    log_every: int = typer.Option(50, "--log-every", min=1, help="Without a terminal: a progress line every N steps."),
    no_throughput: bool = typer.Option(False, "--no-throughput", help="Skip the inference-speed measurement "
                                       "after each run."),
    **recipe_flags: Optional[str],
) -> None:
    """Train every sample of a study (skipping finished runs, resuming interrupted ones)."""
    from ..sweep.launch import run
    from ..train.loop import TrainingError

    try:
        report = run(study_dir, data=data, recipe=recipe, seeds=seeds, limit_train=limit_train, limit_val=limit_val,
                     shard=shard, max_runs=max_runs, budgets=budgets, halving=halving, min_epochs=min_epochs,
                     max_epochs=max_epochs, ray=ray, ray_address=ray_address, cpus_per_run=cpus_per_run,
                     gpus_per_run=gpus_per_run, device=device, workers=workers, overrides=set_, log_every=log_every,
                     throughput=not no_throughput, command=sys.argv[1:], **parse_recipe_flags(recipe_flags))
    except TrainingError as exc:  # a stop (or a fault of the job): the sweep continues when run again
        stopped = str(exc).split("; continue with")[0]
        err.print(f"error[{exc.code}]: {exc}" if exc.exit_code not in (128 + 2, 128 + 15)
                  else f"stopped[{exc.code}]: {stopped}; run the same `spachc sweep run` again to continue", markup=False)
        raise typer.Exit(exc.exit_code) from None
    if not report.is_main:  # under torchrun, rank 0 speaks for the job
        return
    out.print(f"sweep: trained {report.trained} run(s), {report.skipped_done} already finished, "
              f"{report.held_elsewhere} held by other workers, {report.failed} failed while training, "
              f"{report.refused} refused before training (the report lists failures with their reasons)")


def report_command(study_dir: Path = typer.Argument(..., help="The study folder.")) -> None:
    """results.csv, results.json, report.md and plots from a study's runs (runs in progress count as pending)."""
    from ..sweep.report import report_study

    report = report_study(study_dir)
    out.print(f"report of {len(report.rows)} sample(s) ({report.done} with results): {report.markdown}, {report.csv}, "
              f"{report.json}" + "".join(f", {p}" for p in report.plots))


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
    from ..sweep.search import search_study

    report = search_study(space, n, out=out_dir, objectives=objectives, population=population, seed=seed)
    out.print(f"{out_dir}: told {report.told} finished trial(s) ({report.failed} failed), asked "
              f"{report.asked} new sample(s) ({report.rejected} rejected: invalid, outside `where` or "
              f"duplicates); train them with `spachc sweep run {out_dir}`, then search again")


def register(app: typer.Typer) -> None:
    sweep_app.command("sample")(reports_errors(sample_command))
    sweep_app.command("new")(reports_errors(new_command))
    sweep_app.command("run", context_settings={"max_content_width": 120})(
        reports_errors(_with_recipe_flags(run_command)))
    sweep_app.command("report")(reports_errors(report_command))
    sweep_app.command("search")(reports_errors(search_command))
    app.add_typer(sweep_app, name="sweep")
