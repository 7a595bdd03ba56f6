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


def test_stored_bf16_inference_runs_on_every_cpu_and_stays_near_fp32():
    """bf16 is a precision the user names, so it must run wherever torch runs: where oneDNN has
    no bf16 GEMM (AVX2-only CPUs such as AMD EPYC Zen 2) the fused oneDNN linears must not be
    chosen (they raise there), and the plain aten ops compute bf16 instead."""
    import spachc
    from spachc.nn import fused
    from spachc.nn.precision import for_inference

    onednn_bf16 = bool(torch.ops.mkldnn._is_mkldnn_bf16_supported())
    assert (torch.bfloat16 in fused.FUSED_DTYPES) == (fused.AVAILABLE and onednn_bf16)
    with torch.inference_mode():
        assert fused.fusable(torch.ones(2, dtype=torch.bfloat16)) == (fused.AVAILABLE and onednn_bf16)
    spec = spachc.parse("model t\ninput 32\nclasses 5\nstem conv1 patch 4\ndefaults heads 2\n"
                        "stage conv x1 dim 32 -> down -> stage mlp x1, trans x1\n")
    torch.manual_seed(0)
    model = spachc.build(spec).eval()
    torch.nn.init.normal_(model.head.weight, std=0.5)  # the classifier starts at zero
    images = torch.randn(4, 3, 32, 32)
    with torch.inference_mode():
        expected = model(images)
        low, used = for_inference(model, "bf16")
        got = low(images)
    assert used == "bf16" and got.dtype == torch.float32
    assert next(p for n, p in low.named_parameters() if n.startswith("net.stages")).dtype == torch.bfloat16
    # bf16 keeps 8 bits of mantissa: a few per cent of the logits' scale, never more
    assert 0 < (got - expected).abs().max() < 0.05 * expected.abs().max() + 0.05
