"""Training a spec, from its options to a finished run folder: the work of `spachc train`,
and the library's `spachc.train(...)`, which returns a TrainReport of the run's figures.

It applies the rules a run starts with, the same for the command and the library: a resumed
run keeps its own recipe, spec and data; a short run's warm-up and cool-down are fitted to it
(recipe.fit_to_run); a spec that leaves `classes` to its default gets the data's class count
(fit_classes); --init is matched to the spec. A run is long, so like the trainer it says what it
decided as it goes: notes on stdout, warnings as diagnostics on stderr.

Torch is imported inside `train`, not here: the command line imports this module for its defaults.
"""

from __future__ import annotations

import shlex
import sys
from dataclasses import dataclass
from pathlib import Path

from ..diagnostics import Diagnostic, UserError, render_text
from ..diagnostics.codes import E008, E1003, E1025, W1020
from ..lang.limits import DEFAULT_MAX_ACTIVATION_GB, DEFAULT_MAX_PARAMS, enforce

DEFAULT_WORKERS = 2  # DataLoader processes per run: `train` and `sweep run` share this default


@dataclass(frozen=True)
class TrainReport:
    """What a training session ended with; the figures are those of the run folder's
    result.json (and `last` the last line of its metrics.jsonl)."""

    spec: str  # the spec's name
    spec_hash: str
    run_dir: Path
    data: str  # the dataset's name
    epochs_done: int
    epochs: int
    best_top1: float  # the best validation top-1 (%) over the epochs done; -1 before the first
    last: dict | None  # the last epoch's metrics (epoch, train_loss, val_loss, val_top1, ...)
    classes_fitted: int | None = None  # the data's class count, when the spec left `classes` to its default
    warnings: tuple[Diagnostic, ...] = ()  # printed on stderr as the run started

    @property
    def stopped_early(self) -> bool:
        """Stopped before the recipe's last epoch (stop_after): train again with resume=True."""
        return self.epochs_done < self.epochs

    @property
    def val_top1(self) -> float | None:
        return None if self.last is None else self.last["val_top1"]


def train(spec: str | Path | None = None, *, data: str | None = None, out: str | Path | None = None,
          recipe: str | None = None, resume: bool = False, init: str | None = None, init_spec: str | None = None,
          init_partial: bool = False, device: str = "auto", workers: int = DEFAULT_WORKERS, compile: bool = False,
          channels_last: bool = False, stop_after: int | None = None, checkpoint_every: int = 0,
          log_every: int = 50, overrides=(), max_params: int = DEFAULT_MAX_PARAMS,
          max_activation_gb: float = DEFAULT_MAX_ACTIVATION_GB, command: list[str] | None = None,
          **recipe_values) -> TrainReport:
    """Train `spec` (a .spach file or a zoo name) on `data` (image folders with train/ and val/,
    `digits` (the default) or `animals`) into the run folder `out` (default runs/<spec name>);
    with `resume=True` continue the run in `out` (`spec` may then be left out). Returns a
    TrainReport. The arguments mirror `spachc train`'s options (`overrides` is --set K=V, a list
    of strings); `recipe` names the base recipe (spach, quick, finetune) and every other keyword
    is a recipe field (epochs=1, lr=3e-3, ema_decay=None, ...). `command` is recorded in the run
    folder as the command that made it. Failures raise spachc.SpecError or a coded UserError."""
    from ..datasets import DataError, open_dataset, upsampling_warning, worker_error_message
    from .loop import RunOptions, Trainer
    from .recipe import fit_to_run, resolve_recipe
    from .run_folder import RunFolder
    from .tuning import check_layer_decay, freeze_parts

    flags = dict(recipe_values)
    overrides = list(overrides)
    init = None if init is None else str(init)  # as the run folder records it
    warnings: list[Diagnostic] = []
    check_layer_decay(flags.get("layer_decay"))
    state = _saved_state(spec, out, resume)
    resolved = _spec_to_train(spec, state, overrides)
    enforce(resolved, max_params, max_activation_gb)
    run_dir = Path(out) if out is not None else Path("runs") / resolved.name
    if state is None and resume and RunFolder(run_dir).has_state():
        state = RunFolder(run_dir).read_state()
    if state is not None:  # the run's own recipe rules; values given now must agree with it
        chosen = _resumed_recipe(state, flags)
        data = data or state.get("data_path") or state.get("data", "digits")
    else:
        chosen = resolve_recipe(recipe or "spach", flags)
        chosen, warning = fit_to_run(chosen, recipe or "spach", {k for k, v in flags.items() if v is not None})
        if warning is not None:
            _warn(warning, warnings)
        if init is None and (chosen.freeze is not None or recipe == "finetune"):
            _warn(_no_init_warning(chosen.freeze), warnings)
    classes_fitted = None
    try:
        dataset = open_dataset(data or "digits")
        fitted = fit_classes(spec, resolved, dataset, overrides)
        if fitted is not resolved:
            resolved, classes_fitted = fitted, fitted.classes
            enforce(resolved, max_params, max_activation_gb)
            _say(f"classes {classes_fitted}: the spec leaves `classes` to its default, so the data's "
                 "class count is used")
        freeze_parts(chosen.freeze, resolved)
        plan = _init_plan(init, init_spec, init_partial, resolved, dataset, state, command)
        upsampled = upsampling_warning(resolved, dataset)
        if upsampled is not None and state is None:
            _warn(upsampled, warnings)
        options = RunOptions(out=run_dir, device=device, workers=workers, compile=compile,
                             channels_last=channels_last, resume=resume, stop_after=stop_after,
                             checkpoint_every=checkpoint_every, log_every=log_every, command=list(command or []),
                             init=plan)
        result = Trainer(resolved, dataset, chosen, options, max_params).run()
    except DataError as exc:
        raise DataError(worker_error_message(exc)) from None
    return TrainReport(spec=resolved.name, spec_hash=resolved.hash, run_dir=run_dir, data=dataset.name,
                       epochs_done=result["epochs_done"], epochs=result["epochs"], best_top1=result["best_top1"],
                       last=result["last"], classes_fitted=classes_fitted, warnings=tuple(warnings))


def fit_classes(spec: str | Path | None, resolved, dataset, overrides=()):
    """The rule for `classes`: a spec that does not write it (nor sets it with --set) leaves it
    to its default (1000), and training takes the data's class count instead, as
    `--set classes=N` would. Returns `resolved` itself when the rule does not apply."""
    from ..lang.frontend import load, states

    if spec is None or resolved.classes == len(dataset.classes) or states(spec, "classes", overrides):
        return resolved
    return load(spec, [*overrides, f"classes={len(dataset.classes)}"])


def _say(text: str) -> None:
    print(text, flush=True)


def _warn(diagnostic: Diagnostic, warnings: list[Diagnostic]) -> None:
    """A warning is printed when it is found (before a long run's first epoch) and kept for the report."""
    sys.stderr.write(render_text(diagnostic) + "\n\n")
    sys.stderr.flush()
    warnings.append(diagnostic)


def _no_init_warning(frozen: str | None) -> Diagnostic:
    from ..diagnostics import warning_at

    what = f"--freeze {frozen} keeps randomly initialised parts fixed" if frozen else (
        "the finetune recipe (layer decay) is made for trained weights")
    return warning_at(W1020, f"fine-tuning without --init: {what}", None,
                      hint="start from a model: --init RUN_FOLDER (or a .safetensors, model folder, .pth)")


def _init_plan(init: str | None, init_spec: str | None, partial: bool, spec, dataset, state: dict | None,
               command: list[str] | None):
    """--init: read the model and match it to the spec (spachc/train/init.py), print what loads.
    A resumed run restores its own weights; --init given again must name the same model."""
    from ..lang.frontend import load
    from .init import plan_init, read_model_source

    if init is None:
        if init_spec is not None or partial:
            raise UserError("--init-spec and --init-partial need --init MODEL", code=E1025,
                            hint="e.g. spachc train SPEC --init RUN_FOLDER --init-partial")
        return None
    if state is not None:
        recorded = (state.get("init") or {}).get("source")
        if recorded != init:
            raise UserError(f"--resume: the run started from {recorded or 'scratch'}, not --init {init}",
                            code=E1025, hint="resume without --init: the run folder has its weights")
        return None
    source = read_model_source(init, load(init_spec) if init_spec is not None else None, spec)
    retry = "spachc " + shlex.join(command) if command else "spachc train ..."
    plan = plan_init(source, spec, dataset.classes, partial, retry)
    for line in plan.lines():
        _say(line)
    return plan


def _saved_state(spec: str | Path | None, out: str | Path | None, resume: bool) -> dict | None:
    """With resume and no spec, the run folder's state.pt gives the spec, recipe and data."""
    from .run_folder import RunFolder

    if spec is not None:
        return None
    if not resume or out is None:
        raise UserError("give a SPEC to train, or --resume --out DIR to continue a run", code=E008,
                        hint="e.g. spachc train hybrid_s --data DATA, or spachc train --resume --out runs/hybrid_s")
    folder = RunFolder(Path(out))
    if not folder.has_state():
        raise UserError(f"{out}: no checkpoint (state.pt) to resume from", code=E1003,
                        hint="start the run with `spachc train SPEC --out DIR`")
    return folder.read_state()


def _spec_to_train(spec: str | Path | None, state: dict | None, overrides: list[str]):
    from ..lang.frontend import load, parse

    if spec is not None:
        return load(spec, overrides)
    return parse(state["spec_text"], source="state.pt[spec]", overrides=overrides)


def _resumed_recipe(state: dict, flags: dict):
    """The saved recipe with the values given now on top; the trainer refuses any that differ."""
    from .recipe import RecipeError, recipe_from_json

    saved = recipe_from_json(state["recipe"])
    try:
        return saved.model_validate({**saved.model_dump(), **{k: v for k, v in flags.items() if v is not None}})
    except ValueError as exc:
        raise RecipeError(f"invalid training recipe: {exc}") from None
