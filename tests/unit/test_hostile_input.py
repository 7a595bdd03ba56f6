"""Inputs that are not specs at all: each gets exactly one clear diagnostic, never a traceback;
the limit on a network's size can be raised (the commands are tests/e2e/test_hostile_input_cli.py)."""

from __future__ import annotations

import pytest
from support.hostile import spec_cases

import spachc
from spachc.diagnostics import SpecError


@pytest.mark.parametrize("case", ["empty", "comments only", "binary", "not utf-8", "10 MB", "directory"])
def test_one_clear_diagnostic(tmp_path, case):
    path, code, needle = spec_cases(tmp_path)[case]
    with pytest.raises(SpecError) as info:
        spachc.load(path)
    (d,) = info.value.diagnostics
    assert d.code == code and needle in d.message


def test_non_utf8_points_at_the_first_bad_byte(tmp_path):
    path = tmp_path / "bad.spach"
    path.write_bytes(b"input 32\nmodel ab\xffcd\n")
    with pytest.raises(SpecError) as info:
        spachc.load(path)
    (d,) = info.value.diagnostics
    assert (d.line, d.column) == (2, 9)


def test_a_byte_order_mark_is_accepted(tmp_path):
    path = tmp_path / "bom.spach"
    path.write_bytes("\ufeffinput 32 stem patch 4 stage conv x1 dim 8".encode("utf-8"))
    assert spachc.load(path).input == (32, 32)


def test_raising_the_limit_lets_a_network_through():
    import spachc
    from spachc.lang.limits import check_params

    spec = spachc.load("hybrid_s")
    with pytest.raises(SpecError, match="E701"):
        check_params(spec, max_params=63_028_583)
    assert check_params(spec, max_params=63_028_584) == 63_028_584
