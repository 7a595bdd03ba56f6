"""What the report and its plots compute from a study's rows: the Pareto front, the seed spread,
the groups by family and by choice, and a choice's label for people. Both report.py and
plots.py import this; it imports neither (rows are report.Row, read by attribute only).
"""

from __future__ import annotations

import statistics


def readable_label(label: str) -> str:
    """A choice's label for people: a `choose NAME` keeps its name; a derived label such as
    'pipeline2.stage1.depth' reads 'stage 1 depth (pipeline 2)', 'stem.patch' 'stem patch'."""
    parts = label.split(".")
    pipeline = None
    if len(parts) > 1 and parts[0].startswith("pipeline") and parts[0][len("pipeline"):].isdigit():
        pipeline = parts.pop(0)[len("pipeline"):]
    words = []
    for part in parts:
        for word in ("stage", "group"):
            if part.startswith(word) and part[len(word):].isdigit():
                part = f"{word} {part[len(word):]}"
        words.append(part)
    return " ".join(words) + (f" (pipeline {pipeline})" if pipeline else "")


def pareto_front(rows: list, cost: str) -> list:
    """Rows no other row beats: none has both lower-or-equal `cost` and higher top-1."""
    scored = sorted((r for r in rows if r.best_top1 is not None), key=lambda r: (getattr(r, cost), -r.best_top1))
    front, best = [], float("-inf")
    for r in scored:
        if r.best_top1 > best:
            front.append(r)
            best = r.best_top1
    return front


def seed_spread(rows: list) -> dict | None:
    """How much one architecture's best top-1 moves between seeds: the mean and the largest
    range (max - min over seeds) over samples with at least two finished seeds."""
    ranges = [max(r.best_top1_per_seed.values()) - min(r.best_top1_per_seed.values())
              for r in rows if len(r.best_top1_per_seed) >= 2]
    if not ranges:
        return None
    return {"samples": len(ranges), "mean_range": statistics.fmean(ranges), "max_range": max(ranges)}


def facets(rows: list) -> dict[str, dict[str, list]]:
    """Grouping keys: family, stage count, then every choice of the space; each maps values
    to the rows that have it (networks a choice did not act on are left out of its groups;
    only keys with at least two values are worth a plot)."""
    keys = {"family": lambda r: r.family, "stages": lambda r: r.stages}
    for label in choice_labels(rows):  # None: the choice did not act on that network
        keys[label] = lambda r, label=label: r.choices.get(label)
    grouped = {}
    for key, of in keys.items():
        groups: dict[str, list] = {}
        for r in rows:
            if of(r) is not None:
                groups.setdefault(str(of(r)), []).append(r)
        if len(groups) >= 2:
            grouped[key] = dict(sorted(groups.items(), key=lambda kv: _value_order(kv[0])))
    return grouped


def choice_labels(rows: list) -> list[str]:
    """The space's choices, but not one named like a column derived from the network itself
    (a `choose family` is the family column already)."""
    return sorted({k for r in rows for k in r.choices} - {"family", "stages"})


def _value_order(text: str) -> tuple:
    """Numbers in numeric order (8 before 16), then words alphabetically."""
    try:
        return (0, float(text), "")
    except ValueError:
        return (1, 0.0, text)


def group_stats(members: list) -> dict:
    accs = [r.best_top1 for r in members if r.best_top1 is not None]
    return {"n": len(members), "done": len(accs), "best": max(accs) if accs else None,
            "mean": statistics.fmean(accs) if accs else None, "median": statistics.median(accs) if accs else None,
            "worst": min(accs) if accs else None}
