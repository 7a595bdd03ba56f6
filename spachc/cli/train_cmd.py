"""`spachc train SPEC --data DATA`: train with the SPACH or quick recipe, on one process or many.

Every recipe field is a flag (`--warmup-epochs 5`, `--ema-decay none`), generated from the
Recipe model so that the CLI and the saved configuration cannot drift apart.
"""

from __future__ import annotations

import inspect
import shlex
import sys
from pathlib import Path
from typing import Optional, get_args

import typer

from ..lang.limits import enforce
from .common import (DEFAULT_WORKERS, SET_OPTION_HELP, UserError, max_activation_option, max_params_option, print_diagnostics,
                     reports_errors)

RECIPE_PANEL = "Recipe (defaults: spach; quick)"
RUNTIME_HELP = {
    "device": "Under torchrun: the local rank's GPU.",
    "workers": "DataLoader processes decoding images.",
}


def _recipe_parameters() -> list[inspect.Parameter]:
    """One `--field-name` option per Recipe field; values are parsed by the Recipe itself."""
    from ..train.recipe import QUICK, SPACH, Recipe, flag

    params = []
    for name, info in Recipe.model_fields.items():
        metavar = "A,B" if "tuple" in str(info.annotation) else _metavar(info.annotation)
        spach, quick = _show(getattr(SPACH, name)), _show(getattr(QUICK, name))
        help_text = f"{info.description} ({spach}" + (")" if spach == quick else f"; {quick})")
        option = typer.Option(None, flag(name), help=help_text, metavar=metavar, rich_help_panel=RECIPE_PANEL,
                              show_default=False)
        params.append(inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY, default=option,
                                        annotation=Optional[str]))
    return params


def _metavar(annotation) -> str:
    text = str(annotation)
    if "Literal" in text:
        return "MODE"
    for word, shown in (("float", "X"), ("int", "N"), ("str", "TEXT")):
        if word in text:
            return shown
    return "VALUE"


def _show(value) -> str:
    if isinstance(value, tuple):
        return ",".join(f"{v:.3g}" for v in value)
    if isinstance(value, float):
        return f"{value:g}"
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
    spec: Optional[str] = typer.Argument(None, metavar="SPEC", help="A .spach file or a zoo name (not needed "
                                         "with --resume: the run folder has it).", show_default=False),
    data: Optional[str] = typer.Option(None, "--data", metavar="DATA", help="Image folders (train/, val/), "
                                       "`digits` (default) or `animals`.",
                                       show_default=False),
    out: Optional[Path] = typer.Option(None, "--out", metavar="DIR", help="Run folder (default runs/<spec name>).",
                                       show_default=False),
    recipe: Optional[str] = typer.Option(None, "--recipe", metavar="spach|quick|finetune", help="spach (the "
                                         "paper's, default), quick, or finetune.",
                                         show_default=False),
    resume: bool = typer.Option(False, "--resume", help="Continue the run in --out."),
    init: Optional[str] = typer.Option(None, "--init", metavar="MODEL", help="Fine-tune from a model (weights, "
                                       "model or run folder, state.pt, .pth).",
                                       show_default=False, rich_help_panel="Fine-tuning"),
    init_spec: Optional[str] = typer.Option(None, "--init-spec", metavar="SPEC", help="The architecture of a .pth.", show_default=False, rich_help_panel="Fine-tuning"),
    init_partial: bool = typer.Option(False, "--init-partial", help="Load only what matches; list the "
                                      "rest.",
                                      rich_help_panel="Fine-tuning"),
    device: str = typer.Option("auto", "--device", metavar="auto|cpu|cuda", help=RUNTIME_HELP["device"],
                               rich_help_panel="Run"),
    workers: int = typer.Option(DEFAULT_WORKERS, "--workers", min=0, metavar="N", help=RUNTIME_HELP["workers"],
                                rich_help_panel="Run"),
    compile_: bool = typer.Option(False, "--compile", help="torch.compile the model.", rich_help_panel="Run"),
    channels_last: bool = typer.Option(False, "--channels-last", help="Channels-last images and convs.",
                                       rich_help_panel="Run"),
    stop_after: Optional[int] = typer.Option(None, "--stop-after", min=1, metavar="N", help="Stop (with a "
                                             "checkpoint) after N epochs; --resume continues.",
                                             show_default=False, rich_help_panel="Run"),
    checkpoint_every: int = typer.Option(0, "--checkpoint-every", min=0, metavar="N", help="Also checkpoint "
                                         "every N steps.", rich_help_panel="Run"),
    log_every: int = typer.Option(50, "--log-every", min=1, metavar="N", help="Progress line every N steps "
                                  "(no terminal).", rich_help_panel="Run"),
    set_: list[str] = typer.Option([], "--set", metavar="K=V", help=SET_OPTION_HELP, rich_help_panel="Spec"),
    max_params: int = max_params_option(),
    max_activation_gb: float = max_activation_option(),
    **recipe_flags: Optional[str],
) -> None:
    """Train a spec with the SPACH recipe (or quick) on image folders or the built-in digits."""
    from ..lang.frontend import load, states
    from ..datasets import DataError, open_dataset, upsampling_warning, worker_error_message
    from ..train.loop import RunOptions, Trainer
    from ..train.recipe import fit_to_run, resolve_recipe
    from ..train.run_folder import RunFolder
    from ..train.tuning import check_layer_decay, freeze_parts

    flags = parse_recipe_flags(recipe_flags)
    check_layer_decay(flags.get("layer_decay"))
    state = _saved_state(spec, out, resume, set_)
    resolved = _spec_to_train(spec, state, set_)
    enforce(resolved, max_params, max_activation_gb)
    run_dir = out or Path("runs") / resolved.name
    if state is None and resume and RunFolder(run_dir).has_state():
        state = RunFolder(run_dir).read_state()
    if state is not None:  # the run's own recipe rules; flags given now must agree with it
        chosen = _resumed_recipe(state, flags)
        data = data or state.get("data_path") or state.get("data", "digits")
    else:
        chosen = resolve_recipe(recipe or "spach", flags)
        chosen, warning = fit_to_run(chosen, recipe or "spach", {k for k, v in flags.items() if v is not None})
        if warning is not None:
            print_diagnostics([warning])
        if init is None and (chosen.freeze is not None or recipe == "finetune"):
            print_diagnostics([_no_init_warning(chosen.freeze)])
    try:
        dataset = open_dataset(data or "digits")
        if spec is not None and resolved.classes != len(dataset.classes) and not states(spec, "classes", set_):
            # `classes` left to its default (1000): the data decides, as --set classes=N would
            resolved = load(spec, [*set_, f"classes={len(dataset.classes)}"])
            enforce(resolved, max_params, max_activation_gb)
            typer.echo(f"classes {len(dataset.classes)}: the spec leaves `classes` to its default, so the data's "
                       "class count is used")
        freeze_parts(chosen.freeze, resolved)
        plan = _init_plan(init, init_spec, init_partial, resolved, dataset, state)
        upsampled = upsampling_warning(resolved, dataset)
        if upsampled is not None and state is None:
            print_diagnostics([upsampled])
        options = RunOptions(out=run_dir, device=device, workers=workers, compile=compile_,
                             channels_last=channels_last, resume=resume, stop_after=stop_after,
                             checkpoint_every=checkpoint_every, log_every=log_every, command=sys.argv[1:],
                             init=plan)
        result = Trainer(resolved, dataset, chosen, options, max_params).run()
    except DataError as exc:
        raise DataError(worker_error_message(exc)) from None
    if result["epochs_done"] < result["epochs"]:
        typer.echo(f"stopped after epoch {result['epochs_done']} of {result['epochs']} as asked; "
                   f"continue with --resume --out {run_dir}")
    last = result["last"]
    if last is not None:
        typer.echo(f"done: val top-1 {last['val_top1']:.2f}% (best {result['best_top1']:.2f}%), "
                   f"weights in {run_dir}/last.safetensors and {run_dir}/best.safetensors")


def _no_init_warning(frozen: str | None):
    from ..diagnostics import warning_at

    what = f"--freeze {frozen} keeps randomly initialised parts fixed" if frozen else (
        "the finetune recipe (layer decay) is made for trained weights")
    return warning_at("W1020", f"fine-tuning without --init: {what}", None,
                      hint="start from a model: --init RUN_FOLDER (or a .safetensors, model folder, .pth)")


def _init_plan(init: str | None, init_spec: str | None, partial: bool, spec, dataset, state: dict | None):
    """--init: read the model and match it to the spec (spachc/train/init.py), print what loads.
    A resumed run restores its own weights; --init given again must name the same model."""
    from ..lang.frontend import load
    from ..train.init import plan_init, read_model_source

    if init is None:
        if init_spec is not None or partial:
            raise UserError("--init-spec and --init-partial need --init MODEL", code="E1025",
                            hint="e.g. spachc train SPEC --init RUN_FOLDER --init-partial")
        return None
    if state is not None:
        recorded = (state.get("init") or {}).get("source")
        if recorded != init:
            raise UserError(f"--resume: the run started from {recorded or 'scratch'}, not --init {init}",
                            code="E1025", hint="resume without --init: the run folder has its weights")
        return None
    source = read_model_source(init, load(init_spec) if init_spec is not None else None, spec)
    retry = "spachc " + shlex.join(sys.argv[1:])
    plan = plan_init(source, spec, dataset.classes, partial, retry)
    for line in plan.lines():
        typer.echo(line)
    return plan


def _saved_state(spec: str | None, out: Path | None, resume: bool, overrides: list[str]) -> dict | None:
    """With --resume and no SPEC, the run folder's state.pt gives the spec, recipe and data."""
    from ..train.run_folder import RunFolder

    if spec is not None:
        return None
    if not resume or out is None:
        raise UserError("give a SPEC to train, or --resume --out DIR to continue a run", code="E008",
                        hint="e.g. spachc train hybrid_s --data DATA, or spachc train --resume --out runs/hybrid_s")
    folder = RunFolder(out)
    if not folder.has_state():
        raise UserError(f"{out}: no checkpoint (state.pt) to resume from", code="E1003",
                        hint="start the run with `spachc train SPEC --out DIR`")
    return folder.read_state()


def _spec_to_train(spec: str | None, state: dict | None, overrides: list[str]):
    from ..lang.frontend import load, parse

    if spec is not None:
        return load(spec, overrides)
    return parse(state["spec_text"], source="state.pt[spec]", overrides=overrides)


def _resumed_recipe(state: dict, flags: dict):
    """The saved recipe with the flags given now on top; the trainer refuses any that differ."""
    from ..train.recipe import RecipeError, recipe_from_json

    saved = recipe_from_json(state["recipe"])
    try:
        return saved.model_validate({**saved.model_dump(), **{k: v for k, v in flags.items() if v is not None}})
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
