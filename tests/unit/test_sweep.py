"""Shards are a fixed partition of a study's runs, and claims on a run exclude each other
(studies that survive SIGKILL are tests/e2e/test_sweep_cli.py)."""

from __future__ import annotations

import pytest

from spachc.sweep.claims import try_claim
from spachc.sweep.study import parse_shard, shard_of, StudyError


def test_shards_are_a_fixed_partition_and_claims_exclude_each_other(tmp_path):
    items = tuple(range(11))
    shards = [shard_of(items, k, 3) for k in (1, 2, 3)]
    assert shards == [[0, 3, 6, 9], [1, 4, 7, 10], [2, 5, 8]]
    assert parse_shard("2/3") == (2, 3) and parse_shard(None) == (1, 1)
    for bad in ("0/3", "4/3", "a/b", "3"):
        with pytest.raises(StudyError) as info:
            parse_shard(bad)
        assert info.value.code == "E1303"
    first = try_claim(tmp_path / "x.lock")
    assert first is not None and try_claim(tmp_path / "x.lock") is None  # held, even within one process
    first.release()
    again = try_claim(tmp_path / "x.lock")
    assert again is not None
    again.release()
