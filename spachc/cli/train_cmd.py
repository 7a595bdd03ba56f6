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

from .common import DEFAULT_WORKERS, SET_OPTION_HELP, device_option, max_activation_option, max_params_option, reports_errors

RECIPE_PANEL = "Recipe (defaults: spach; quick)"
RUNTIME_HELP = {
    "workers": "DataLoader workers (decode images).",
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
    device: str = device_option(panel="Run"),
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
    from ..train.start import train

    report = train(spec, data=data, out=out, recipe=recipe, resume=resume, init=init, init_spec=init_spec,
                   init_partial=init_partial, device=device, workers=workers, compile=compile_,
                   channels_last=channels_last, stop_after=stop_after, checkpoint_every=checkpoint_every,
                   log_every=log_every, overrides=set_, max_params=max_params, max_activation_gb=max_activation_gb,
                   command=sys.argv[1:], **parse_recipe_flags(recipe_flags))
    if report.stopped_early:
        typer.echo(f"stopped after epoch {report.epochs_done} of {report.epochs} as asked; "
                   f"continue with --resume --out {report.run_dir}")
    last = report.last
    if last is not None:
        typer.echo(f"done: val top-1 {last['val_top1']:.2f}% (best {report.best_top1:.2f}%), "
                   f"weights in {report.run_dir}/last.safetensors and {report.run_dir}/best.safetensors")


def _with_recipe_flags(command):
    """Replace the **recipe_flags catch-all with one typed option per recipe field."""
    signature = inspect.signature(command)
    fixed = [p for p in signature.parameters.values() if p.kind is not inspect.Parameter.VAR_KEYWORD]
    command.__signature__ = signature.replace(parameters=fixed + _recipe_parameters())
    return command


def register(app: typer.Typer) -> None:
    app.command("train", context_settings={"max_content_width": 120})(reports_errors(_with_recipe_flags(train_command)))
