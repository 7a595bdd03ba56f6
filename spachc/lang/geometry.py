"""Values derived from the primary fields of a spec: token grids and drop-path rates.

One definition, read by the resolver (to build the IR), by the rules (to check an IR read
from JSON) and by the IR itself; kept apart from ir.py so that rules.py needs nothing from
the IR at run time and the IR can run the rules without an import cycle.
"""

from __future__ import annotations


def stem_grid(input_hw: tuple[int, int], patch: int) -> tuple[int, int]:
    return input_hw[0] // patch, input_hw[1] // patch


def halve(grid: tuple[int, int]) -> tuple[int, int]:
    return grid[0] // 2, grid[1] // 2


def drop_path_rates(rate: float, depth: int, schedule: str = "linear") -> list[float]:
    """Linear from 0 at the first block to `rate` at the last, or `rate` in every block
    (`constant`, the paper's single-stage models) (LANGUAGE.md)."""
    if schedule == "constant":
        return [rate] * depth
    if depth <= 1:
        return [0.0] * depth
    return [rate * i / (depth - 1) for i in range(depth)]
