"""Design spaces: a .spach file whose values or kinds are choices (LANGUAGE.md, "Spaces").
The choices themselves are read in choices.py; this module counts and samples spaces.

A space is a Document with Choice nodes. Picking one alternative for every choice gives a
plain Document (each chosen value keeps the span of the alternative it came from), which
the ordinary resolver turns into a Spec, with the ordinary diagnostics. So a space never
needs its own rules: a sample is valid exactly when its spec is, and `where` then keeps the
samples whose params and MACs (lang/counts.py, no torch) meet the bounds.

Counting and sampling:
- a space of at most ENUMERATE_LIMIT combinations is enumerated: `check` gives exact counts
  of distinct architectures (by spec hash) and of those meeting `where`, and `sample` draws
  uniformly among those distinct architectures, without replacement;
- a larger space is sampled: each choice uniform and independent, rejected when the spec is
  invalid or misses `where`, deduplicated by hash, for at most `max_draws` draws; `check`
  then reports estimates from SAMPLE_DRAWS random combinations.

Work is bounded before anything is evaluated. Resolving a network costs about one unit per
block plus EVAL_OVERHEAD per stage (a unit is ~25 us here), and the block and stage counts of a
combination are read from the document without resolving it. An enumeration whose total passes CHECK_BUDGET
units is sampled instead; `check` evaluates random combinations only while the budget lasts,
and refuses (E112) a space where fewer than MIN_DRAWS fit; `sample` stops at SAMPLE_BUDGET.
"""

from __future__ import annotations

import collections
import itertools
import math
import random
from dataclasses import dataclass
from typing import Iterator

from .choices import (PIPELINE_LABEL, Dimension, acting_choices, dimensions, instantiate, is_space,  # noqa: F401
                      unused_named)  # (is_space: API)
from ..diagnostics import Diagnostic, Span, SpecError, error_at
from .syntax import Bound, Choice, Document

ENUMERATE_LIMIT = 4096
SAMPLE_DRAWS = 2000
CHECK_BUDGET = 50_000  # work units of one `check` (about 1 s on one core)
SAMPLE_BUDGET = 1_000_000  # work units of one `sweep sample` (about 25 s)
EVAL_OVERHEAD = 10  # units per stage of a network evaluated, whatever its blocks
MIN_DRAWS = 100  # fewer random networks than this make no estimate: the space is refused


# --- evaluating samples --------------------------------------------------------------------------

@dataclass(frozen=True)
class Outcome:
    picks: tuple[int, ...]
    spec: object | None  # lang.ir.Spec when valid
    params: int = 0
    macs: int = 0
    meets: bool = False
    error: Diagnostic | None = None


def evaluate(doc: Document, dims: tuple[Dimension, ...], picks: tuple[int, ...]) -> Outcome:
    from .counts import total_cost
    from .resolve import resolve

    try:
        spec = resolve(instantiate(doc, {d.label: i for d, i in zip(dims, picks)})).spec
    except SpecError as exc:
        first = next((d for d in exc.diagnostics if d.severity == "error"), None)
        return Outcome(picks, None, error=first)
    cost = total_cost(spec)
    meets = all(_within(b, cost.params if b.metric == "params" else cost.macs) for b in doc.bounds)
    return Outcome(picks, spec, cost.params, cost.macs, meets)


def _within(bound: Bound, value: float) -> bool:
    return (bound.low is None or value >= bound.low) and (bound.high is None or value <= bound.high)


def combinations(dims: tuple[Dimension, ...]) -> int:
    return math.prod(len(d.items) for d in dims)


def _all_picks(dims) -> Iterator[tuple[int, ...]]:
    return itertools.product(*(range(len(d.items)) for d in dims))


def _random_picks(dims, rng: random.Random) -> tuple[int, ...]:
    return tuple(rng.randrange(len(d.items)) for d in dims)


# --- what evaluating combinations costs, known before evaluating them ------------------------

def block_counter(doc: Document, dims: tuple[Dimension, ...]):
    """picks -> the number of blocks that combination's network has (0 when the resolver
    refuses it before building blocks: a count that is not a number, or over MAX_BLOCKS)."""
    from .resolve import MAX_BLOCKS

    index = {d.label: k for k, d in enumerate(dims)}

    def count(text: str) -> int:
        return int(text) if text.isdigit() and len(text) <= 9 else 0

    def parts(stages) -> tuple[int, list]:
        fixed, varying = 0, []
        for stage in stages:
            for g in stage.groups:
                if isinstance(g.repeat, Choice) and g.repeat.label in index:
                    k = index[g.repeat.label]
                    varying.append((k, [count(v.text) for v in dims[k].items]))
                elif not isinstance(g.repeat, Choice):
                    fixed += count(g.repeat.text[1:])
        return fixed, varying

    plain = [parts(p) for p in doc.pipelines]
    alternatives = [parts(p) for p in doc.alternatives]
    which = index.get(PIPELINE_LABEL)

    def blocks(picks: tuple[int, ...]) -> int:
        chosen = plain + ([alternatives[picks[which]]] if which is not None else [])
        n = sum(fixed + sum(values[picks[k]] for k, values in varying) for fixed, varying in chosen)
        return n if n <= MAX_BLOCKS else 0

    return blocks


def work_counter(doc: Document, dims: tuple[Dimension, ...]):
    """picks -> the work units of evaluating that combination: its blocks, EVAL_OVERHEAD per
    stage (options, rules and the IR are built per stage), one per 10 choices (instantiation)."""
    blocks = block_counter(doc, dims)
    plain = sum(len(p) for p in doc.pipelines)
    alternatives = [len(p) for p in doc.alternatives]
    which = next((k for k, d in enumerate(dims) if d.label == PIPELINE_LABEL), None)
    per_choice = len(dims) // 10

    def work(picks: tuple[int, ...]) -> int:
        stages = plain + (alternatives[picks[which]] if which is not None else 0)
        return blocks(picks) + EVAL_OVERHEAD * max(stages, 1) + per_choice

    return work


def _enumerable(doc: Document, dims: tuple[Dimension, ...]) -> bool:
    """A space is enumerated when it has few combinations and their networks are small
    enough together to resolve them all within CHECK_BUDGET."""
    if combinations(dims) > ENUMERATE_LIMIT:
        return False
    cost = work_counter(doc, dims)
    work = 0
    for picks in _all_picks(dims):
        work += cost(picks)
        if work > CHECK_BUDGET:
            return False
    return True


def _budgeted_draws(doc: Document, dims: tuple[Dimension, ...], seed: int) -> list[tuple[int, ...]]:
    """Up to SAMPLE_DRAWS random combinations, as many as CHECK_BUDGET pays for; E112 when
    fewer than MIN_DRAWS fit (the space's networks are too large to estimate it)."""
    rng, blocks, cost = random.Random(seed), block_counter(doc, dims), work_counter(doc, dims)
    picks_list, work, largest = [], 0, 0
    for _ in range(SAMPLE_DRAWS):
        picks = _random_picks(dims, rng)
        largest = max(largest, blocks(picks))
        work += cost(picks)
        if work > CHECK_BUDGET:
            break
        picks_list.append(picks)
    if len(picks_list) < MIN_DRAWS:
        span = next((d.items[0].span for d in dims if d.items), Span.at_offset(doc.source, 0))
        raise SpecError([error_at(
            "E112", f"this space is too large to check: its networks have up to {largest:,} blocks and "
            f"{len(dims):,} choice(s); only {len(picks_list)} random networks fit the limit of {CHECK_BUDGET:,} "
            f"work units (a unit is about one block resolved), and an estimate needs {MIN_DRAWS}", span,
            hint="narrow the repeat-count ranges (e.g. x{1..12}) or use fewer choices")])
    return picks_list


@dataclass
class Census:
    """What a space holds: combinations, valid ones, distinct architectures, those meeting
    `where`; exact when `exact`, else estimated from `draws` random combinations."""

    combinations: int
    exact: bool
    draws: int
    valid: int
    distinct: int
    meeting: int
    distinct_meeting: int
    never_valid: list  # (dimension, item) pairs no valid network takes
    never_meeting: bool
    reasons: dict  # (label, item index) -> the first diagnostic that refused it
    bounded: bool = False  # the space has `where`


def census(doc: Document, seed: int = 0) -> Census:
    dims = dimensions(doc)
    total = combinations(dims)
    exact = _enumerable(doc, dims)
    picks_list = list(_all_picks(dims)) if exact else _budgeted_draws(doc, dims, seed)
    hashes, meeting_hashes = set(), set()
    valid = meeting = 0
    item_valid: set = set()
    item_seen: set = set()
    reasons: dict = {}
    for picks in picks_list:
        o = evaluate(doc, dims, picks)
        for d, i in zip(dims, picks):
            item_seen.add((d.label, i))
        if o.spec is None:
            for d, i in zip(dims, picks):
                reasons.setdefault((d.label, i), o.error)
            continue
        valid += 1
        h = o.spec.hash
        hashes.add(h)
        for d, i in zip(dims, picks):
            item_valid.add((d.label, i))
        if o.meets:
            meeting += 1
            meeting_hashes.add(h)
    drawn = collections.Counter((k, i) for p in picks_list for k, i in enumerate(p)) if not exact else None
    never = [(d, i) for k, d in enumerate(dims) for i in range(len(d.items))
             if (d.label, i) in item_seen and (d.label, i) not in item_valid
             and (exact or drawn[(k, i)] >= 30)]
    return Census(total, exact, len(picks_list), valid, len(hashes), meeting, len(meeting_hashes), never,
                  bool(doc.bounds) and valid > 0 and meeting == 0, reasons, bool(doc.bounds))


def check_space(doc: Document) -> tuple[Census, list[Diagnostic]]:
    """The census and the diagnostics of a space: an alternative that no valid network takes
    (E166, with the reason), bounds that nothing valid meets (E167), unused names (W160)."""
    c = census(doc)
    problems: list[Diagnostic] = list(unused_named(doc))
    for d, i in c.never_valid:
        item = d.items[i]
        reason = c.reasons.get((d.label, i))
        why = f": {reason.message}" if reason is not None else ""
        problems.append(error_at("E166", f"the alternative '{item.text}' of choice '{d.label}' never gives a valid "
                                 f"network{why}", item.span,
                                 hint=(f"{reason.hint} ({reason.code})" if reason is not None and reason.hint else
                                       "remove it, or change the choices it combines with")))
    if c.valid == 0 and not c.never_valid:
        problems.append(error_at("E166", "no combination of the choices gives a valid network", Span.at_offset(doc.source, 0)))
    if c.never_meeting:
        first = doc.bounds[0]
        problems.append(error_at("E167", f"no valid network of the space meets `where` ({_bounds_text(doc)})"
                                 + ("" if c.exact else f" in {c.draws:,} random combinations"), first.span,
                                 hint="widen the bounds or change the choices"))
    return c, problems


def _bounds_text(doc: Document) -> str:
    return " ".join(b.text for b in doc.bounds)


# --- sampling a study -----------------------------------------------------------------------------

class TooFew(ValueError):
    """Fewer distinct architectures meet the constraints than were asked for."""


def sample(doc: Document, n: int, seed: int, max_draws: int | None = None) -> tuple[list[Outcome], dict]:
    """`n` distinct architectures (by spec hash) meeting `where`, uniformly at random and the
    same for the same seed. Returns the outcomes (in draw order) and how they were drawn."""
    dims = dimensions(doc)
    total = combinations(dims)
    rng = random.Random(seed)
    if _enumerable(doc, dims):
        pool: dict[str, Outcome] = {}
        for picks in _all_picks(dims):
            o = evaluate(doc, dims, picks)
            if o.spec is not None and o.meets:
                pool.setdefault(o.spec.hash, o)
        if len(pool) < n:
            raise TooFew(f"the space holds {len(pool):,} distinct architectures that are valid and meet `where` "
                         f"(of {total:,} combinations); asked for {n:,}")
        chosen = rng.sample(list(pool.values()), n)
        return chosen, {"sampler": "uniform over distinct architectures (enumerated)", "combinations": total,
                        "distinct_meeting": len(pool), "draws": total}
    limit = max_draws or max(50 * n, 5000)
    found: dict[str, Outcome] = {}
    draws = work = 0
    cost = work_counter(doc, dims)
    while len(found) < n and draws < limit:
        picks = _random_picks(dims, rng)
        work += cost(picks)
        if work > SAMPLE_BUDGET:  # known before resolving it: the networks are too large to draw on
            break
        draws += 1
        o = evaluate(doc, dims, picks)
        if o.spec is not None and o.meets and o.spec.hash not in found:
            found[o.spec.hash] = o
    if len(found) < n:
        spent = (f" (the work limit of {SAMPLE_BUDGET:,} units, about one per block resolved, was reached: narrow "
                 "the repeat-count ranges)" if work > SAMPLE_BUDGET else "")
        raise TooFew(f"found only {len(found):,} distinct architectures that are valid and meet `where` in "
                     f"{draws:,} random draws from {total:,} combinations{spent}; asked for {n:,} (ask for fewer, "
                     f"widen `where`, or draw longer with --max-draws)")
    return list(found.values()), {"sampler": "uniform per choice, rejection, dedup by hash", "combinations": total,
                                  "draws": draws}


def choices_of(dims: tuple[Dimension, ...], picks: tuple[int, ...]) -> dict[str, str]:
    """The choices a sample made, by label, leaving out those that did not act."""
    return acting_choices({d.label: d.items[i].text for d, i in zip(dims, picks)})
