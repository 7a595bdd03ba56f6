"""`sweep sample --stratify NAME`: equal counts of samples per value of one choice.

Why: a uniform draw of a few architectures can miss a whole family (4 draws from `battle`
once held no conv network), and a study of families then says nothing about one of them.
Stratifying draws each value's share separately - for a space small enough to enumerate,
uniformly among the distinct architectures that take that value; otherwise by rejection with
that choice fixed - so every value gets n // k samples and the first n % k values one more.

Torch-free, like the rest of sampling (lang/space.py gives the evaluation of one combination).
"""

from __future__ import annotations

import random

from ..lang.space import ENUMERATE_LIMIT, TooFew, _all_picks, _random_picks, combinations, dimensions, evaluate


class UnknownChoice(ValueError):
    """--stratify names no choice of the space."""


def shares(n: int, k: int) -> list[int]:
    """n split over k values as evenly as possible: the first n % k values get one more."""
    return [n // k + (1 if i < n % k else 0) for i in range(k)]


def stratified_sample(doc, n: int, seed: int, label: str, max_draws: int | None = None):
    """Like lang.space.sample, with equal counts per value of choice `label`. Returns the
    outcomes (grouped by value, in the choice's order) and how they were drawn."""
    dims = dimensions(doc)
    index = next((i for i, d in enumerate(dims) if d.label == label), None)
    if index is None:
        raise UnknownChoice(f"--stratify {label}: the space has no choice of that name (its choices: "
                            f"{', '.join(d.label for d in dims) or 'none'})")
    values = dims[index].items
    counts = shares(n, len(values))
    rng = random.Random(seed)
    total = combinations(dims)
    taken: set[str] = set()
    chosen = []
    if total <= ENUMERATE_LIMIT:
        pools: list[dict] = [{} for _ in values]
        for picks in _all_picks(dims):
            o = evaluate(doc, dims, picks)
            if o.spec is not None and o.meets:
                pools[picks[index]].setdefault(o.spec.hash, o)
        for v, (pool, want) in enumerate(zip(pools, counts)):
            fresh = [o for h, o in pool.items() if h not in taken]
            if len(fresh) < want:
                raise TooFew(f"{label} = {values[v].text}: the space holds {len(fresh):,} distinct architectures "
                             f"that take it, are valid and meet `where`; the stratified study needs {want:,}")
            for o in rng.sample(fresh, want):
                taken.add(o.spec.hash)
                chosen.append(o)
        return chosen, {"sampler": f"stratified by {label}, uniform over distinct architectures (enumerated)",
                        "combinations": total, "draws": total, "stratify": label}
    limit = max_draws or max(50 * n, 5000)
    draws = 0
    for v, want in enumerate(counts):
        found, spent = [], 0
        while len(found) < want and spent < limit:
            spent += 1
            picks = list(_random_picks(dims, rng))
            picks[index] = v
            o = evaluate(doc, dims, tuple(picks))
            if o.spec is not None and o.meets and o.spec.hash not in taken:
                taken.add(o.spec.hash)
                found.append(o)
        draws += spent
        if len(found) < want:
            raise TooFew(f"{label} = {values[v].text}: found only {len(found):,} distinct architectures that are "
                         f"valid and meet `where` in {spent:,} random draws; the stratified study needs {want:,} "
                         "(ask for fewer, widen `where`, or draw longer with --max-draws)")
        chosen += found
    return chosen, {"sampler": f"stratified by {label}, uniform per choice, rejection, dedup by hash",
                    "combinations": total, "draws": draws, "stratify": label}
