"""The choices of a design space (LANGUAGE.md, "Spaces"), read from a parsed Document:
their labels and alternatives, whether a document is a space at all, and the plain Document
that picking one alternative per choice gives. Sampling and counting are in space.py; this
module needs only the syntax, so the parser and the resolver can use it.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, replace
from typing import Callable, Iterator

from ..diagnostics import Diagnostic, Note, Span, SpecError, did_you_mean, error_at, warning_at
from .kinds import KINDS
from .options import STAGE_OPTIONS
from .syntax import Bound, Choice, Document, NamedChoice, Option, Stage, Statement, Value

MAX_RANGE = 4096  # values one `{a..b}` may hold
_RANGE_DIGITS = 12  # a longer bound is refused before int() reads it (Python's int-from-text limit is 4,300)
METRICS = ("params", "macs")
UNITS = {"": 1, "K": 1e3, "M": 1e6, "G": 1e9}
PIPELINE_LABEL = "pipeline"


# --- parsing helpers (called by the parser's transformer) --------------------------------

def _quantity(text: str) -> float:
    unit = text[-1] if text[-1] in "KMG" else ""
    return float(text[: len(text) - len(unit)]) * UNITS[unit]


def parse_bound(metric: str, parts: list[str], span: Span, metric_span: Span) -> Bound:
    """`macs 0.5G..1G` or `params <= 10M` to inclusive (low, high); checked in `check_space`.
    A bound is a finite number: `1e400` (infinity as a float) is refused here (E111)."""
    text = metric + " " + " ".join(parts)
    quantities = parts[0].split("..") if len(parts) == 1 else [parts[1]]
    if not all(math.isfinite(_quantity(q)) for q in quantities):
        raise SpecError([error_at("E111", f"the bound `{text}` is not a finite number", span,
                                  hint="a bound of `where` is a finite count such as 10M or 2G")])
    if len(parts) == 1:  # a range
        low, high = (_quantity(t) for t in parts[0].split(".."))
        return Bound(metric, low, high, span, metric_span, text)
    op, value = parts[0], _quantity(parts[1])
    # Counts are integers: `< v` is `<= ceil(v) - 1`, `> v` is `>= floor(v) + 1`.
    if op == "<=":
        return Bound(metric, None, value, span, metric_span, text)
    if op == "<":
        return Bound(metric, None, math.ceil(value) - 1, span, metric_span, text)
    if op == ">=":
        return Bound(metric, value, None, span, metric_span, text)
    return Bound(metric, math.floor(value) + 1, None, span, metric_span, text)


# --- what each place of a space accepts ------------------------------------------------------

# A choice may stand where a kind, a repeat count, a number, a size or a switch goes; each of
# its alternatives must be something that place takes, or the resolver would read a kind as a
# number (or a number as a kind). Checked when choices are labelled, at the alternative (E110).
_NUMBER = re.compile(r"[+-]?([0-9]+(\.[0-9]*)?|\.[0-9]+)([eE][+-]?[0-9]+)?")
_PLACES: dict[str, tuple[str, Callable[[str], bool]]] = {
    "kind": ("a block kind", lambda t: t in KINDS),
    "count": ("a whole repeat count", str.isdigit),
    "number": ("a number", lambda t: bool(_NUMBER.fullmatch(t))),
    "size": ("a size such as 224 or 224x192", lambda t: bool(re.fullmatch(r"[0-9]+(x[0-9]+)?", t))),
    "switch": ("on or off", lambda t: t in ("on", "off")),
    "number_or_off": ("a number or off", lambda t: t == "off" or bool(_NUMBER.fullmatch(t))),
}
_STATEMENT_PLACES = {("input", "size"): "size"}  # every other statement value is a number


def _option_place(name: str) -> str:
    kind = STAGE_OPTIONS[name].type if name in STAGE_OPTIONS else "number"
    return {"int": "number", "number": "number"}.get(kind, kind)


def _shown(text: str, limit: int = 40) -> str:
    return text if len(text) <= limit else text[:limit] + "..."


# --- the choices of a space ------------------------------------------------------------------

def _expand(choice: Choice) -> tuple[tuple[Value, ...], list[Diagnostic]]:
    """Ranges `2..6` become their integers (each with the range's span)."""
    items, problems = [], []
    for v in choice.items:
        if ".." not in v.text:
            items.append(v)
            continue
        low, high = v.text.split("..")
        if low.isdigit() and high.isdigit() and max(len(low), len(high)) > _RANGE_DIGITS:
            problems.append(error_at("E163", f"a bound of the range {_shown(v.text)} has more than {_RANGE_DIGITS} "
                                     f"digits; a range holds at most {MAX_RANGE:,} values", v.span))
        elif not (low.isdigit() and high.isdigit()):
            problems.append(error_at("E163", f"a range of choices takes whole numbers, got '{v.text}'", v.span,
                                     hint="write e.g. {2..6}; list other values: {0.5 | 1 | 2}"))
        elif int(low) > int(high):
            problems.append(error_at("E163", f"the range {v.text} is empty", v.span, hint=f"write {{{high}..{low}}}"))
        elif int(high) - int(low) >= MAX_RANGE:
            problems.append(error_at("E163", f"the range {v.text} has {int(high) - int(low) + 1:,} values; "
                                     f"the limit is {MAX_RANGE:,}", v.span))
        else:
            items += [Value(str(n), v.span) for n in range(int(low), int(high) + 1)]
    seen: set[str] = set()  # a set: a choice may hold thousands of values (a range)
    for v in items:
        if v.text in seen:
            problems.append(error_at("E163", f"'{v.text}' is listed twice in this choice", v.span,
                                     hint="each alternative once"))
            break
        seen.add(v.text)
    return tuple(items), problems


@dataclass
class _Labeller:
    named: dict[str, NamedChoice]
    problems: list[Diagnostic]
    used: set

    def __post_init__(self):
        self.taken: dict[str, int] = {}

    def choice(self, c: Choice, label: str, place: str) -> Choice:
        if c.ref is not None:
            target = self.named.get(c.ref)
            if target is None:
                hint = did_you_mean(c.ref, self.named) or (
                    f"declare it: `choose {c.ref} {{a | b}}`" if not self.named else
                    f"named choices: {', '.join(self.named)}")
                self.problems.append(error_at("E161", f"no choice named '{c.ref}'", c.span, hint=hint))
                return c
            self.used.add(c.ref)
            self._fit(target.choice.items, place, c)
            return replace(c, items=target.choice.items, label=c.ref)
        items, problems = _expand(c)
        self.problems.extend(problems)
        self._fit(items, place, None)
        n = self.taken.get(label, 0)
        self.taken[label] = n + 1
        return replace(c, items=items, label=label if n == 0 else f"{label}#{n + 1}")

    def _fit(self, items: tuple[Value, ...], place: str, used: Choice | None) -> None:
        """E110 at the first alternative that this place cannot take (for `$name`, at the
        alternative in `choose`, with a note at the use)."""
        what, fits = _PLACES[place]
        for v in items:
            if not fits(v.text):
                notes = (Note(f"${used.ref} is used here, where {what} goes", used.span),) if used else ()
                self.problems.append(error_at("E110", f"'{v.text}' cannot stand here: this place takes {what}",
                                              v.span, notes=notes, hint=f"list only {what} in this choice"))
                return

    def value(self, v, label: str, place: str):
        return self.choice(v, label, place) if isinstance(v, Choice) else v

    def option(self, o: Option, label: str, place: str) -> Option:
        return replace(o, value=self.value(o.value, label, place)) if isinstance(o.value, Choice) else o

    def statement(self, st: Statement) -> Statement:
        labels = {"input": {"size": "input", "channels": "channels"}, "classes": {"count": "classes"},
                  "drop_path": {"rate": "drop_path"}}.get(st.keyword, {})
        args = []
        for a in st.args:
            label = labels.get(a.name) or (a.name if st.keyword == "defaults" else f"{st.keyword}.{a.name}")
            place = (_option_place(a.name) if st.keyword == "defaults" else
                     _STATEMENT_PLACES.get((st.keyword, a.name), "number"))
            args.append(self.option(a, label, place))
        return replace(st, args=tuple(args))

    def pipeline(self, stages: tuple[Stage, ...], prefix: str) -> tuple[Stage, ...]:
        out = []
        for i, stage in enumerate(stages, 1):
            groups = []
            for j, g in enumerate(stage.groups, 1):
                where = f"{prefix}stage{i}" + (f".group{j}" if len(stage.groups) > 1 else "")
                groups.append(replace(g, kind=self.value(g.kind, f"{where}.kind", "kind"),
                                      repeat=self.value(g.repeat, f"{where}.depth", "count")))
            options = tuple(self.option(o, f"{prefix}stage{i}.{o.name}", _option_place(o.name)) for o in stage.options)
            out.append(replace(stage, groups=tuple(groups), options=options))
        return tuple(out)


def label_choices(doc: Document) -> Document:
    """Give every choice its label and alternatives (ranges expanded, `$name` resolved);
    report mistakes in the choices themselves (E161-E163). A plain spec comes back as is."""
    if not (doc.named or doc.bounds or doc.alternatives or _has_inline_choice(doc)):
        return doc
    problems: list[Diagnostic] = []
    named: dict[str, NamedChoice] = {}
    for nc in doc.named:
        if nc.name in named:
            problems.append(error_at("E162", f"`choose {nc.name}` is given twice", nc.name_span,
                                     notes=(Note("first given here", named[nc.name].name_span),),
                                     hint="give each named choice once"))
            continue
        items, expand_problems = _expand(nc.choice)
        problems += expand_problems
        named[nc.name] = replace(nc, choice=replace(nc.choice, items=items))
    labeller = _Labeller(named, problems, set())
    statements = tuple(labeller.statement(st) for st in doc.statements)
    pipelines = tuple(labeller.pipeline(p, "") for p in doc.pipelines)
    alternatives = tuple(labeller.pipeline(p, f"pipeline{k}.") for k, p in enumerate(doc.alternatives, 1))
    for b in doc.bounds:
        if b.metric not in METRICS:
            problems.append(error_at("E164", f"unknown metric '{b.metric}' in `where`", b.metric_span,
                                     hint=did_you_mean(b.metric, METRICS) or f"bounds apply to {' and '.join(METRICS)}"))
        elif b.low is not None and b.high is not None and b.low > b.high:
            problems.append(error_at("E164", f"the bound `{b.text}` is empty (low end above high end)", b.span))
    if problems:
        raise SpecError(sorted(problems, key=lambda d: (d.line, d.column)))
    return replace(doc, statements=statements, pipelines=pipelines, alternatives=alternatives,
                   named=tuple(named.values()))


def _has_inline_choice(doc: Document) -> bool:
    return any(True for _ in _walk_choices(doc))


def _walk_choices(doc: Document) -> Iterator[Choice]:
    for st in doc.statements:
        for a in st.args:
            if isinstance(a.value, Choice):
                yield a.value
    for stages in doc.pipelines + doc.alternatives:
        for stage in stages:
            for g in stage.groups:
                for v in (g.kind, g.repeat):
                    if isinstance(v, Choice):
                        yield v
            for o in stage.options:
                if isinstance(o.value, Choice):
                    yield o.value


def is_space(doc: Document) -> bool:
    return bool(doc.named or doc.bounds or doc.alternatives) or _has_inline_choice(doc)


@dataclass(frozen=True)
class Dimension:
    """One independent choice of a space: a label and its alternatives' texts and spans."""

    label: str
    items: tuple[Value, ...]

    @property
    def texts(self) -> tuple[str, ...]:
        return tuple(v.text for v in self.items)


def dimensions(doc: Document) -> tuple[Dimension, ...]:
    """The independent choices, in source order; a named choice counts once however often
    it is used, the pipeline alternatives once (its values are 1, 2, ...)."""
    seen: dict[str, Dimension] = {}
    if doc.alternatives:
        spans = [p[0].key_span for p in doc.alternatives]
        seen[PIPELINE_LABEL] = Dimension(PIPELINE_LABEL, tuple(Value(str(k), s) for k, s in enumerate(spans, 1)))
    for nc in doc.named:
        seen.setdefault(nc.name, Dimension(nc.name, nc.choice.items))
    for c in _walk_choices(doc):
        if c.label not in seen:
            seen[c.label] = Dimension(c.label, c.items)
    order = sorted(seen.values(), key=lambda d: d.items[0].span.start_pos if d.items else 0)
    return tuple(order)


def acting_choices(made: dict[str, str]) -> dict[str, str]:
    """`made` (label -> alternative) without the choices inside pipelines not taken."""
    taken = made.get(PIPELINE_LABEL)
    return {label: text for label, text in made.items()
            if taken is None or not label.startswith("pipeline") or label == PIPELINE_LABEL
            or label.startswith(f"pipeline{taken}.")}


def unused_named(doc: Document) -> list[Diagnostic]:
    used = {c.label for c in _walk_choices(doc) if c.ref is not None}
    return [warning_at("W160", f"the choice '{nc.name}' is never used (no `${nc.name}`)", nc.name_span,
                       hint="use it as $" + nc.name + " or delete it") for nc in doc.named if nc.name not in used]


# --- from a space to one spec -----------------------------------------------------------------

def instantiate(doc: Document, picks: dict[str, int]) -> Document:
    """The plain Document with alternative `picks[label]` taken for every choice."""

    def value(v):
        if not isinstance(v, Choice):
            return v
        chosen = v.items[picks[v.label]]
        return Value(f"x{chosen.text}" if v.repeat else chosen.text, chosen.span)

    def option(o: Option) -> Option:
        return replace(o, value=value(o.value)) if isinstance(o.value, Choice) else o

    def pipeline(stages):
        return tuple(replace(s, groups=tuple(replace(g, kind=value(g.kind), repeat=value(g.repeat)) for g in s.groups),
                             options=tuple(option(o) for o in s.options)) for s in stages)

    statements = tuple(replace(st, args=tuple(option(a) for a in st.args)) for st in doc.statements)
    pipelines = tuple(pipeline(p) for p in doc.pipelines)
    if doc.alternatives:
        pipelines += (pipeline(doc.alternatives[picks[PIPELINE_LABEL]]),)
    return Document(doc.source, statements, pipelines, doc.comments)


def sample_it_first(doc: Document) -> Diagnostic:
    dims = dimensions(doc)
    first = next((d.items[0].span for d in dims if d.items), None) or (doc.bounds[0].span if doc.bounds else
                                                                          Span.at_offset(doc.source, 0))
    what = f"{len(dims)} choice(s)" if dims else "`where` bounds"
    return error_at("E160", f"this spec is a design space ({what}); a network is one of its samples", first,
                    hint=f"sample it first: spachc sweep sample {doc.source.name} -n N -o STUDY/, then train the "
                    "specs in STUDY/specs/ (or run `spachc sweep run STUDY/`)")


