"""Making a study folder: `spachc.sweep.sample` draws architectures from a design space,
`spachc.sweep.new` lists hand-picked specs; both write study.json and specs/ (study.py) and
return a StudyReport. Torch-free, like the commands `spachc sweep sample` and `new`.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from ..diagnostics.codes import E1307, E1320


@dataclass(frozen=True)
class StudyReport:
    """A study folder just written: where, how many samples, and how they were drawn."""

    out: Path
    samples: int
    first_spec: object = None  # the first sample's Spec (None for an empty draw): what data it fits
    space: Path | None = None  # sample: the space file drawn from
    seed: int | None = None
    draws: int | None = None  # random draws made (or combinations enumerated)
    combinations: int | None = None  # the space's size before `where`
    seconds: float | None = None


def locate_space(name: str | Path) -> Path:
    """A space file, or a bundled space by name (`battle`)."""
    from ..lang.resources import space_names, spaces_dir

    name = str(name)
    path = Path(name)
    if path.is_file() or "/" in name or name.endswith(".spach"):
        return path
    if name in space_names():
        return spaces_dir() / f"{name}.spach"
    return path  # the front end reports the missing file (E006)


def sample(space: str | Path, n: int, *, out: str | Path, seed: int = 0, max_draws: int | None = None,
           stratify: str | None = None) -> StudyReport:
    """Draw `n` distinct architectures uniformly from `space` (a .spach design space or a bundled
    one: battle), meeting its `where`, into the new study folder `out`; returns a StudyReport.
    The same seed gives the same study. `stratify` names a choice whose values get equal counts;
    `max_draws` gives up after that many random draws (default max(50 n, 5000))."""
    from ..diagnostics import UserError
    from ..lang.frontend import load_space
    from ..lang.printer import to_text
    from ..lang.space import TooFew, choices_of, dimensions, sample as draw
    from .stratify import UnknownChoice, stratified_sample
    from .study import write_study

    out = Path(out)
    path = locate_space(space)
    doc = load_space(path)
    started = time.perf_counter()
    try:
        outcomes, how = (stratified_sample(doc, n, seed, stratify, max_draws) if stratify
                         else draw(doc, n, seed, max_draws))
    except TooFew as exc:
        raise UserError(str(exc), code=E1307) from None
    except UnknownChoice as exc:
        raise UserError(str(exc), code=E1320, hint="name a `choose NAME` of the space, or a label that "
                        "`spachc check` prints for it") from None
    dims = dimensions(doc)
    base = outcomes[0].spec.name if outcomes else "sample"
    samples = []
    for i, o in enumerate(outcomes):
        spec = o.spec.model_copy(update={"name": f"{base}_s{i:04d}"})
        samples.append({"text": to_text(spec), "hash": spec.hash, "choices": choices_of(dims, o.picks),
                        "params": o.params, "macs": o.macs, "name": spec.name})
    extra = {**how, "dimensions": {d.label: list(d.texts) for d in dims}}
    write_study(out, samples, space_name=path.stem, space_text=doc.source.text, seed=seed,
                sampler=how.pop("sampler"), extra={k: v for k, v in extra.items() if k != "sampler"})
    return StudyReport(out=out, samples=len(samples), first_spec=outcomes[0].spec if outcomes else None, space=path,
                       seed=seed, draws=how["draws"], combinations=how["combinations"],
                       seconds=time.perf_counter() - started)


def new(specs: list[str | Path], *, out: str | Path, overrides=()) -> StudyReport:
    """A study of hand-picked specs (.spach files or zoo names), in this order, in the new study
    folder `out`; `overrides` (--set K=V) are applied to every spec before it is written."""
    from ..lang.frontend import load
    from ..lang.printer import to_text
    from ..lang.summary import summary
    from .study import write_study

    out = Path(out)
    samples, first = [], None
    for name in specs:
        spec = load(name, list(overrides))
        first = first or spec
        s = summary(spec)
        samples.append({"text": to_text(spec), "hash": spec.hash, "choices": {}, "params": s.params,
                        "macs": s.macs, "name": spec.name})
    study = write_study(out, samples, sampler="listed")
    return StudyReport(out=out, samples=len(study.samples), first_spec=first)
