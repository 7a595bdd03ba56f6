"""`spachc train SPEC --data DATA`: train with the SPACH or quick recipe, on one process or many.

Every recipe field is a flag (`--warmup-epochs 5`, `--ema-decay none`), generated from the
Recipe model so that the CLI and the saved configuration cannot drift apart.
"""

from __future__ import annotations

import inspect
import sys
from pathlib import Path
from typing import Optional, get_args

import typer

from ..lang.limits import enforce
from .common import SET_OPTION_HELP, UserError, err, max_activation_option, max_params_option, reports_errors

RUNTIME_HELP = {
    "out": "Run folder: checkpoints, metrics.jsonl, curves.png, run.json.",
    "device": "auto, cpu or cuda (under torchrun: the local rank's GPU).",
    "workers": "DataLoader worker processes decoding and augmenting images.",
}


def _recipe_parameters() -> list[inspect.Parameter]:
    """One `--field-name` option per Recipe field; values are parsed by the Recipe itself."""
    from ..train.recipe import QUICK, SPACH, Recipe, flag

    params = []
    for name, info in Recipe.model_fields.items():
        metavar = "A,B" if "tuple" in str(info.annotation) else _metavar(info.annotation)
        nullable = type(None) in get_args(info.annotation)
        help_text = (f"{info.description} (spach: {_show(getattr(SPACH, name))}, "
                     f"quick: {_show(getattr(QUICK, name))})")
        if nullable:
            help_text += " ('none' to unset)"
        option = typer.Option(None, flag(name), help=help_text, metavar=metavar, rich_help_panel="Recipe")
        params.append(inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY, default=option,
                                        annotation=Optional[str]))
    return params


def _metavar(annotation) -> str:
    text = str(annotation)
    if "Literal" in text:
        return "|".join(get_args(annotation))
    for word, shown in (("float", "X"), ("int", "N"), ("str", "TEXT")):
        if word in text:
            return shown
    return "VALUE"


def _show(value) -> str:
    if isinstance(value, tuple):
        return ",".join(f"{v:g}" for v in value)
    return "none" if value is None else str(value)


def parse_recipe_flags(values: dict[str, str | None]) -> dict[str, object]:
    """Flag text to values the Recipe validates: 'none' unsets, 'A,B' is a pair."""
    from ..train.recipe import Recipe

    parsed: dict[str, object] = {}
    for name, text in values.items():
        if text is None:
            continue
        annotation = Recipe.model_fields[name].annotation
        if text.strip().lower() == "none" and type(None) in get_args(annotation):
            parsed[name] = None
        elif "tuple" in str(annotation):
            parsed[name] = tuple(part.strip() for part in text.split(","))
        else:
            parsed[name] = text
    return parsed


def train_command(
    spec: str = typer.Argument(..., help="A .spach file or a zoo name."),
    data: str = typer.Option("digits", "--data", help="Image-folder tree (train/<class>/*, val/<class>/*) or "
                             "a built-in dataset: digits or animals."),
    out: Path = typer.Option(None, "--out", help=RUNTIME_HELP["out"] + " Default runs/<spec name>."),
    recipe: str = typer.Option("spach", "--recipe", help="spach (the paper's) or quick (small data)."),
    device: str = typer.Option("auto", "--device", help=RUNTIME_HELP["device"]),
    compile_: bool = typer.Option(False, "--compile", help="torch.compile the model."),
    channels_last: bool = typer.Option(False, "--channels-last", help="Images and convs in channels-last layout."),
    resume: bool = typer.Option(False, "--resume", help="Continue the run in --out exactly where it stopped."),
    workers: int = typer.Option(2, "--workers", min=0, help=RUNTIME_HELP["workers"]),
    set_: list[str] = typer.Option([], "--set", help=SET_OPTION_HELP),
    stop_after: int = typer.Option(None, "--stop-after", min=1, help="Stop (with a checkpoint) after this many "
                                   "epochs of the schedule; --resume continues."),
    checkpoint_every: int = typer.Option(0, "--checkpoint-every", min=0, help="Also checkpoint every N steps "
                                         "(0: at the end of each epoch only)."),
    log_every: int = typer.Option(50, "--log-every", min=1, help="Without a terminal: print a progress line "
                                  "every N steps."),
    max_params: int = max_params_option(),
    max_activation_gb: float = max_activation_option(),
    **recipe_flags: Optional[str],
) -> None:
    """Train a spec: the SPACH recipe (or quick) on an image folder or the built-in digits."""
    from ..lang.frontend import load, states
    from ..train import checkpoint as ckpt
    from ..train.data import DataError, open_dataset, worker_error_message
    from ..train.loop import ResumeRefused, RunOptions, SetupError, Trainer, TrainingError
    from ..train.recipe import RecipeError, resolve_recipe

    resolved = load(spec, set_)
    enforce(resolved, max_params, max_activation_gb)
    run_dir = out or Path("runs") / resolved.name
    flags = parse_recipe_flags(recipe_flags)
    try:
        chosen = resolve_recipe(recipe, flags)
        if resume and (run_dir / ckpt.STATE_FILE).exists():
            chosen = _resumed_recipe(run_dir, flags, recipe)
        dataset = open_dataset(data)
        if resolved.classes != len(dataset.classes) and not states(spec, "classes", set_):
            # `classes` left to its default (1000): the data decides, as --set classes=N would
            resolved = load(spec, [*set_, f"classes={len(dataset.classes)}"])
            enforce(resolved, max_params, max_activation_gb)
            typer.echo(f"classes {len(dataset.classes)}: the spec leaves `classes` to its default, so the data's "
                       "class count is used")
        options = RunOptions(out=run_dir, device=device, workers=workers, compile=compile_,
                             channels_last=channels_last, resume=resume, stop_after=stop_after,
                             checkpoint_every=checkpoint_every, log_every=log_every, command=sys.argv[1:])
        trainer = Trainer(resolved, dataset, chosen, options, max_params)
        result = trainer.run()
    except DataError as exc:
        raise UserError(worker_error_message(exc), code="E1001") from None
    except RecipeError as exc:
        raise UserError(str(exc), code="E1002") from None
    except (ResumeRefused, ckpt.CheckpointReadError) as exc:
        raise UserError(str(exc), code="E1003") from None
    except SetupError as exc:
        raise UserError(str(exc), code="E1008") from None
    except TrainingError as exc:
        err.print(f"error[{exc.code}]: {exc}" if exc.exit_code != 128 + 2 and exc.exit_code != 128 + 15
                  else f"stopped[{exc.code}]: {exc}", markup=False)
        raise typer.Exit(exc.exit_code) from None
    if result["epochs_done"] < result["epochs"]:
        typer.echo(f"stopped after epoch {result['epochs_done']} of {result['epochs']} as asked; "
                   f"continue with --resume --out {run_dir}")
    last = result["last"]
    if last is not None:
        typer.echo(f"done: val top-1 {last['val_top1']:.2f}% (best {result['best_top1']:.2f}%), "
                   f"weights in {run_dir}/last.safetensors and {run_dir}/best.safetensors")


def _resumed_recipe(run_dir: Path, flags: dict, name: str):
    """On --resume the run's saved recipe rules; flags given now are applied on top, and the
    trainer refuses any that disagree with the checkpoint."""
    import json

    from ..train.recipe import RecipeError, recipe_from_json, resolve_recipe

    run_file = run_dir / "run.json"
    if not run_file.exists():
        return resolve_recipe(name, flags)
    saved = recipe_from_json(json.dumps(json.loads(run_file.read_text(encoding="utf-8"))["recipe"]))
    try:
        return saved.model_validate({**saved.model_dump(), **flags})
    except ValueError as exc:
        raise RecipeError(f"invalid training recipe: {exc}") from None


def _with_recipe_flags(command):
    """Replace the **recipe_flags catch-all with one typed option per recipe field."""
    signature = inspect.signature(command)
    fixed = [p for p in signature.parameters.values() if p.kind is not inspect.Parameter.VAR_KEYWORD]
    command.__signature__ = signature.replace(parameters=fixed + _recipe_parameters())
    return command


def register(app: typer.Typer) -> None:
    app.command("train", context_settings={"max_content_width": 120})(reports_errors(_with_recipe_flags(train_command)))
