"""The `auto` precision rules: bf16 inference exactly where the CPU has bf16 hardware, and the
AMP rule for training (bf16 weights and runs are tests/e2e/test_precision_cli.py)."""

from __future__ import annotations
from pathlib import Path

import pytest
import torch

from spachc.runtime.precision import PrecisionError, resolve_precision


def _flags() -> set[str]:
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("flags"):
            return set(line.split(":")[1].split())
    return set()


def test_auto_picks_bf16_exactly_where_the_cpu_has_bf16_hardware():
    hardware = bool(_flags() & {"amx_bf16", "avx512_bf16"})
    assert resolve_precision("auto", "cpu") == ("bf16" if hardware else "fp32")
    assert resolve_precision("fp32", "cpu") == "fp32" and resolve_precision("bf16", "cpu") == "bf16"
    with pytest.raises(PrecisionError, match="inference cannot run precision fp16 here: it takes fp32, bf16 or auto"):
        resolve_precision("fp16")
    with pytest.raises(PrecisionError, match="precision 'fp8' is not one of: fp32, bf16, auto"):
        resolve_precision("fp8")


def test_amp_auto_rule_for_training():
    from spachc.train.loop import amp_dtype

    hardware = bool(_flags() & {"amx_bf16", "avx512_bf16"})
    cpu = torch.device("cpu")
    big = spachc_macs("trans_ms_xxs") * 8  # 5 GMACs a step: bf16 autocast measured faster
    small = spachc_macs("digits_small") * 32  # 41 MMACs a step: bf16 autocast measured slower
    assert amp_dtype("auto", cpu, big) == (torch.bfloat16 if hardware else None)
    assert amp_dtype("auto", cpu, small) is None
    assert amp_dtype("bf16", cpu, small) == torch.bfloat16 and amp_dtype("off", cpu, big) is None


def spachc_macs(name: str) -> int:
    import spachc

    from support.paths import REPO

    path = REPO / "benchmarks" / f"{name}.spach"
    return spachc.summary(spachc.load(str(path) if path.exists() else name)).macs
