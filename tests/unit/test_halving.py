"""Successive halving's arithmetic: rung ladders and budgets, and the Spearman rank correlation
against values worked out by hand (studies that halve are tests/e2e/test_halving_cli.py)."""

from __future__ import annotations
import math

import pytest

from spachc.sweep.halving import HalvingError, keep, ladder, parse_budgets
from spachc.sweep.ranks import ranks, spearman


def test_ladders_and_budgets():
    assert ladder(3, 2, 18) == (2, 6, 18)
    assert ladder(2, 1, 10) == (1, 2, 4, 8, 10)
    assert ladder(3, 2, 7) == (2, 6, 7)
    assert parse_budgets("2, 6,18") == (2, 6, 18)
    for bad in ("2,2", "6,2", "0,3", "a"):
        with pytest.raises(HalvingError):
            parse_budgets(bad)
    for args in ((1, 2, 18), (3, None, 18), (3, 18, 2)):
        with pytest.raises(HalvingError):
            ladder(*args)
    assert [keep(n, 3) for n in (1, 3, 4, 12)] == [1, 1, 2, 4]


def test_spearman_against_hand_worked_values():
    assert ranks([10, 30, 20, 20]) == [1.0, 4.0, 2.5, 2.5]
    assert spearman([1, 2, 3, 4], [10, 20, 30, 40]) == pytest.approx(1.0)
    assert spearman([1, 2, 3, 4], [4, 3, 2, 1]) == pytest.approx(-1.0)
    # d = rank differences (0, -2, 1, 1, 0): 1 - 6*6 / (5*24) = 0.7, no ties
    assert spearman([1, 2, 3, 4, 5], [1, 4, 2, 3, 5]) == pytest.approx(0.7)
    # with ties: Pearson of ranks (1, 2.5, 2.5, 4) and (1, 2, 3, 4) = 4.5 / sqrt(4.5 * 5)
    assert spearman([1, 2, 2, 3], [1, 2, 3, 4]) == pytest.approx(4.5 / math.sqrt(4.5 * 5))
    assert spearman([1], [2]) is None and spearman([1, 1], [1, 2]) is None
