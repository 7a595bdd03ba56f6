"""The int8 export's accuracy gate: at the minimum agreement rate it allows the 95th percentile of
disagreements (`spachc export --int8` itself is tests/e2e/test_int8_cli.py)."""

from __future__ import annotations
import pytest

from spachc.export.int8 import allowed_disagreements


@pytest.mark.parametrize("n, rate", [(10, 0.01), (200, 0.01), (355, 0.01), (1000, 0.01), (50, 0.05)])
def test_the_gate_allows_the_95th_percentile_of_disagreements_at_the_minimum_rate(n, rate):
    """Exact binomial tail in rational arithmetic, independent of the gate's float sum."""
    from fractions import Fraction
    from math import comb

    p = Fraction(rate).limit_denominator(1000)

    def cdf(k):
        return sum(comb(n, i) * p ** i * (1 - p) ** (n - i) for i in range(k + 1))

    k = allowed_disagreements(n, 1 - rate)
    assert cdf(k) >= Fraction(95, 100) and (k == 0 or cdf(k - 1) < Fraction(95, 100))
    assert allowed_disagreements(200, 0.99) == 5  # 3 of 200 (98.5%) passes: well within chance for 1%
