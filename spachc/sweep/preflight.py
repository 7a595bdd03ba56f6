"""Checks every sample of a study against the study's data and recipe before anything trains.

Why up front: a study trains for hours. A sample that can never train under the study's fixed
settings (a zoo spec with 1000 classes on a 5-class data set, a batch larger than the data, a
network over the parameter limit) should be named with its reason before the first epoch, not
found after the others have trained - and it must not stop the rest. Such a sample gets a
`failed.json` in each of its run folders (stage "check", with the coded error), so the study
finishes, reruns skip it, and the report lists it as failed with its reason, not as pending.

The same record is written for a run that fails while training (stage "train"): see runner.py.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from ..diagnostics import DiagnosticError, SpecError, UserError
from ..diagnostics.codes import E1008, E1321
from .study import Sample, Study, StudyError, write_atomically

FAILED_FILE = "failed.json"
UNCODED = E1321  # a run that raised an error without a diagnostic code (declared in lang/codes.py)


@dataclass(frozen=True)
class Failure:
    """Why a sample cannot train (stage 'check') or why its run stopped (stage 'train')."""

    code: str
    message: str
    stage: str = "check"

    def to_json(self) -> str:
        return json.dumps({"error": self.code, "message": self.message, "stage": self.stage}) + "\n"

    def line(self) -> str:
        return f"error[{self.code}]: {self.message}"


def failure_of(exc: BaseException, stage: str) -> Failure:
    """The coded failure an exception stands for; one without a code is E1321 with its type."""
    if isinstance(exc, SpecError):
        first = exc.errors[0] if exc.errors else exc.diagnostics[0]
        return Failure(first.code, first.message, stage)
    if isinstance(exc, DiagnosticError) and getattr(exc, "code", ""):
        return Failure(exc.code, str(exc), stage)
    return Failure(UNCODED, f"{type(exc).__name__}: {exc}", stage)


def read_failure(run: Path) -> Failure | None:
    """The failure recorded in a run folder, if any (older studies wrote no `stage`)."""
    try:
        data = json.loads((run / FAILED_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return Failure(str(data.get("error", UNCODED)), str(data.get("message", "")), str(data.get("stage", "train")))


def write_failure(run: Path, failure: Failure) -> None:
    run.mkdir(parents=True, exist_ok=True)
    write_atomically(run / FAILED_FILE, failure.to_json())


def sample_spec(study: Study, sample: Sample, overrides: tuple[str, ...] = ()):
    """The spec a sample trains: its file, unchanged since sampling (E1305, study.sample_spec),
    with the study's `--set` overrides applied on top."""
    from ..lang.frontend import load
    from .study import sample_spec as sampled_spec

    spec = sampled_spec(study, sample)
    return load(study.root / sample.file, list(overrides)) if overrides else spec


def check_sample(study: Study, sample: Sample, settings, dataset) -> Failure | None:
    """None when the sample can train with the study's settings on `dataset`, else why not."""
    from ..lang.limits import DEFAULT_MAX_PARAMS, enforce
    from ..datasets import check_fit
    from ..train.recipe import Recipe

    try:
        spec = sample_spec(study, sample, settings.overrides)
        enforce(spec, DEFAULT_MAX_PARAMS)
        check_fit(spec, dataset)
        recipe = Recipe.model_validate(settings.recipe)
        if recipe.batch_size > len(dataset.train):
            raise UserError(f"--batch-size {recipe.batch_size} is larger than the {len(dataset.train)} training "
                            "images; lower it", code=E1008)
    except StudyError:
        raise  # the study's own files disagree (a spec edited after sampling, E1305): fix the study, not a sample
    except (DiagnosticError, ValueError) as exc:
        return failure_of(exc, "check")
    return None


def preflight(study: Study, settings, dataset) -> dict[str, Failure]:
    """Sample id -> why it cannot train, for every sample of the study that cannot."""
    found = {}
    for sample in study.samples:
        failure = check_sample(study, sample, settings, dataset)
        if failure is not None:
            found[sample.id] = failure
    return found
