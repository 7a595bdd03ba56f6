"""Parameter groups by depth, in timm's format: what layer decay and freezing work from.

`group_matcher(coarse)` returns timm's dict (`{'stem': regex, 'blocks': [(regex, suffix), ...]}`)
so timm's own `param_groups_layer_decay` can read a SpachNet; `layer_ids` is the same grouping
written out here (timm's `group_with_matcher`: every match becomes a tuple of numbers, the
tuples are sorted, and each distinct tuple is one layer; a suffix of `MATCH_PREVIOUS` joins the
layer before it, a parameter no regex matches, the classifier, comes last). The stem is layer
0, then every block (a stage's downsample goes with its first block), the final norm with the
last block, and the head last: BEiT's order, in which layer decay scales the lr of layer i by
R ** (last - i), so the head trains at the full lr and the stem at the lowest.

Freezing names parts of the network the way a user sees it: `stem`, `stage1`, `stage2`, ...
(1-based like `spachc build` prints them) and `backbone` (all but the classifier: a linear
probe).
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable

MATCH_PREVIOUS = (99999,)  # timm's MATCH_PREV_GROUP: this match joins the layer before it


def group_matcher(coarse: bool = False) -> dict:
    """timm's group matcher for SpachNet's parameter names; `coarse`: one group per stage."""
    return {
        "stem": r"^stem",  # stem.* and stem_norm.*
        "blocks": r"^stages\.(\d+)" if coarse else [
            (r"^stages\.(\d+)\.downsample", (0,)),
            (r"^stages\.(\d+)\.blocks\.(\d+)", None),
            (r"^head_norm", MATCH_PREVIOUS),
        ],
    }


def _compiled(matcher: dict) -> list[tuple[re.Pattern, tuple[int, ...], tuple[int, ...] | None]]:
    compiled = []
    for ordinal, spec in enumerate(matcher.values()):
        if spec is None:
            continue
        entries = spec if isinstance(spec, (list, tuple)) else [(spec, None)]
        compiled += [(re.compile(regex), (ordinal,), suffix) for regex, suffix in entries]
    return compiled


def layer_ids(names: Iterable[str], matcher: dict) -> dict[str, int]:
    """Parameter name -> layer number (0 = the stem ... last = the head), as timm groups them."""
    compiled = _compiled(matcher)

    def ordinal(name: str) -> tuple[float, ...]:
        for regex, prefix, suffix in compiled:
            match = regex.match(name)
            if match:
                parts = (*prefix, *(int(g) for g in match.groups() if g is not None), *(suffix or ()))
                return tuple(float(p) for p in parts)
        return (float("inf"),)  # not matched: the classifier, last

    by_ordinal: dict[tuple[float, ...], list[str]] = defaultdict(list)
    for name in names:
        by_ordinal[ordinal(name)].append(name)
    ids, layer = {}, -1
    for key in sorted(by_ordinal):
        if layer < 0 or key[-1] != MATCH_PREVIOUS[0]:
            layer += 1
        ids.update((name, layer) for name in by_ordinal[key])
    return ids


def layer_scales(names: Iterable[str], decay: float, coarse: bool = False) -> dict[str, float]:
    """Parameter name -> lr multiplier decay ** (last layer - its layer): BEiT's layer decay."""
    ids = layer_ids(names, group_matcher(coarse))
    last = max(ids.values(), default=0)
    return {name: decay ** (last - i) for name, i in ids.items()}


# --- freezing ------------------------------------------------------------------------------------

BACKBONE = "backbone"


def part_names(stages: int) -> tuple[str, ...]:
    """The names `--freeze` takes for a network of `stages` stages."""
    return ("stem", *(f"stage{i + 1}" for i in range(stages)), BACKBONE)


def part_prefixes(part: str) -> tuple[str, ...]:
    """Parameter-name prefixes of one part (`stage2` -> stages.1.*; head_norm goes with the
    last stage, as in the layer grouping above)."""
    if part == "stem":
        return ("stem.", "stem_norm.")
    return (f"stages.{int(part.removeprefix('stage')) - 1}.",)


def frozen_names(names: Iterable[str], parts: Iterable[str], stages: int) -> set[str]:
    """The parameter names the chosen parts cover (`backbone`: everything but `head.*`)."""
    names = list(names)
    parts = set(parts)
    if BACKBONE in parts:
        return {n for n in names if not n.startswith("head.")}
    prefixes = tuple(p for part in parts for p in part_prefixes(part))
    if f"stage{stages}" in parts:
        prefixes += ("head_norm.",)
    return {n for n in names if n.startswith(prefixes)}
