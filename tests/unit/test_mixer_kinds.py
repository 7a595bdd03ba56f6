"""The four later kinds (pool, shift, smlp, sepconv) against their written-out equations
(tests/support/reference_mixers.py inside tests/support/reference_spach.py), their counts against the
built module and torch's own FLOP counter, and their diagnostics, fmt and diff."""

from __future__ import annotations

import pytest
import torch
from support.reference_spach import reference_from_spachc
from torch.utils.flop_counter import FlopCounterMode

import spachc
from spachc.lang.diffing import diff_specs
from spachc.lang.frontend import fmt_text

HEADER = "input {input}\nclasses 7\nstem patch 4\ndrop_path {drop}\n"
CASES = {
    "pool_shift_nonsquare": ("32x16", "stage conv x1, pool x1 dim 24 -> down -> stage shift x2"),
    "smlp_sepconv_nonsquare": ("32x24", "stage smlp x2 dim 16 -> down -> stage conv x1, sepconv x1"),
    "shared_smlp_sepconv": ("32", "stage smlp x2 dim 16 shared -> down -> stage sepconv x2 shared"),
    "options_off": ("32", "stage pool x1, shift x1 dim 24 layerscale off cpe off -> down -> stage sepconv x1 cpe off"),
}


def make_spec(case: str, drop: float = 0.0) -> spachc.Spec:
    size, pipeline = CASES[case]
    return spachc.parse(HEADER.format(input=size, drop=drop) + pipeline + "\n")


def pair(case: str, seed: int, drop: float = 0.0):
    """spachc's module and the reference, with the same random O(1) weights everywhere."""
    spec = make_spec(case, drop)
    model = spachc.build(spec)
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, t in model.state_dict().items():
            if t.is_floating_point():
                t.copy_(torch.rand(t.shape, generator=g) + 0.5 if name.endswith("running_var")
                        else torch.randn(t.shape, generator=g) * 0.3)
    return spec, model, reference_from_spachc(spec, model)


def images(spec, seed: int, batch: int = 3) -> torch.Tensor:
    return torch.randn(batch, spec.channels, *spec.input, generator=torch.Generator().manual_seed(seed + 99))


def rel_err(a: torch.Tensor, b: torch.Tensor, scale: float | None = None) -> float:
    return ((a - b).abs().max() / (scale or b.abs().max().clamp_min(1e-12))).item()


@pytest.mark.parametrize("case", sorted(CASES))
def test_eval_outputs_match_the_equations(case):
    spec, model, ref = pair(case, seed=1, drop=0.2)  # drop path must vanish in eval
    x = images(spec, 1)
    with torch.no_grad():  # on CPU fp32 this is the fused inference path
        assert rel_err(model.eval()(x), ref.eval()(x)) <= 1e-5
    assert rel_err(model.eval()(x), ref.eval()(x)) <= 1e-5  # and the autograd path


@pytest.mark.parametrize("case", sorted(CASES))
def test_train_mode_outputs_and_gradients_match_the_equations(case):
    """Outputs in fp32; gradients in fp64, because some are nearly or exactly zero by
    cancellation (the LN1 bias before `pool`: avg(b) - b = 0; LN1 before smlp's BatchNorm,
    which in training removes per-channel offsets and scales) and fp32 rounding would drown
    them. Exactly-zero ones must be zero up to fp64 rounding on both sides."""
    from spachc.nn.upstream import upstream_key

    spec, model, ref = pair(case, seed=7)
    x = images(spec, 7)
    assert rel_err(model.train()(x), ref.train()(x)) <= 1e-5
    model, ref, x = model.double(), ref.double(), x.double()
    model(x).square().mean().backward()
    ref(x).square().mean().backward()
    ref_params = dict(ref.named_parameters())
    overall = max(p.grad.abs().max().item() for p in ref.parameters())
    for name, p in model.named_parameters():
        q = ref_params[upstream_key(spec, name)]
        if q.grad.abs().max() <= 1e-12 * overall:
            assert p.grad.abs().max() <= 1e-12 * overall, name
        else:
            assert rel_err(p.grad.reshape(q.grad.shape), q.grad) <= 1e-5, name


def test_the_mixers_do_what_their_names_say():
    from spachc.nn.mixers.pool import Pool
    from spachc.nn.mixers.shift import Shift

    x = torch.arange(2 * 6 * 24, dtype=torch.float32).reshape(1, 12, 24)  # a 2x6 grid, 24 channels
    grid = (2, 6)
    out = Shift()(x, grid).reshape(2, 6, 24)
    image = x.reshape(2, 6, 24)
    assert torch.equal(out[:, :5, 0:2], image[:, 1:, 0:2]) and not out[:, 5, 0:2].any()  # left
    assert torch.equal(out[:, 1:, 2:4], image[:, :5, 2:4]) and not out[:, 0, 2:4].any()  # right
    assert torch.equal(out[0, :, 4:6], image[1, :, 4:6]) and not out[1, :, 4:6].any()  # up
    assert torch.equal(out[1, :, 6:8], image[0, :, 6:8]) and not out[0, :, 6:8].any()  # down
    assert torch.equal(out[..., 8:], image[..., 8:])
    constant = torch.full((1, 12, 3), 5.0)
    assert not Pool()(constant, grid).any()  # a flat image, padding excluded: the mean is the pixel


@pytest.mark.parametrize("case", sorted(CASES))
def test_counts_equal_the_module_and_torchs_flop_counter(case):
    spec = make_spec(case)
    model = spachc.build(spec).eval()
    s = spachc.summary(spec)
    assert sum(p.numel() for p in model.parameters()) == s.params
    counter = FlopCounterMode(display=False)
    with counter:
        model(torch.zeros(1, 3, *spec.input))
    assert counter.get_total_flops() == 2 * s.macs


def test_parameter_formulas():
    dim, (h, w) = 16, (8, 6)
    spec = spachc.parse(f"input {4 * h}x{4 * w}\nstem patch 4\nstage smlp x1, sepconv x1 dim {dim}")
    from spachc.lang.counts import mixer_cost

    stage = spec.stages[0]
    assert mixer_cost(stage, "smlp").params == 2 * dim + h * h + h + w * w + w + 3 * dim * dim
    assert mixer_cost(stage, "sepconv").params == 4 * dim * dim + 2 * dim * 49 + 2
    assert mixer_cost(stage, "pool").params == mixer_cost(stage, "shift").params == 0


@pytest.mark.parametrize("text, code, line, column, needle", [
    ("stage pool x2 dim 24 shared", "E503", 1, 22, "shares nothing: pool has no parameters"),
    ("stage conv x1, shift x2 dim 24 shared", "E503", 1, 32, "shares nothing: shift"),
    ("stage smlp x1, sepconv x1 dim 24 shared", "E501", 1, 34, "exactly one non-conv"),
    ("stage sepconv x1 dim 8 heads 2 token_ratio 1", "W103", 1, 24, "`heads` has no effect in a stage without trans"),
    ("stage conv x1, shift x1 dim 8", "W104", 1, 16, "shift moves dim // 12 = 0 channels"),
    ("stage smlpp x1 dim 8", "E103", 1, 7, "unknown block kind 'smlpp'"),
])
def test_diagnostics_of_the_later_kinds(text, code, line, column, needle):
    try:
        diagnostics = spachc.lang.resolve.resolve(spachc.lang.frontend.document(text, "t.spach")).warnings
    except spachc.SpecError as exc:
        diagnostics = exc.diagnostics
    d = next(d for d in diagnostics if d.code == code)
    assert (d.line, d.column) == (line, column) and needle in d.message, d.render()


def test_unknown_kind_hint_lists_every_kind():
    with pytest.raises(spachc.SpecError) as caught:
        spachc.parse("stage zzz x1 dim 8")
    hint = caught.value.diagnostics[0].hint
    assert all(k in hint for k in ("conv", "trans", "mlp", "pool", "shift", "smlp", "sepconv"))


def test_fmt_to_text_and_diff_know_the_later_kinds():
    messy = "stage   pool x1,shift x2 dim 24  # mixers\n->down->stage smlp x1, sepconv x1   layerscale 1e-3\n"
    tidy = fmt_text(messy)
    assert tidy == ("stage pool x1, shift x2 dim 24  # mixers\n"
                    "-> down -> stage smlp x1, sepconv x1 layerscale 1e-3\n")
    assert fmt_text(tidy) == tidy
    spec = spachc.parse(tidy)
    assert spachc.parse(spachc.to_text(spec)) == spec
    other = spachc.parse(tidy.replace("smlp x1", "trans x1"))
    stage = diff_specs(spec, other).parts[2]
    assert stage.status == "changed" and stage.block_changes == ("changed smlp -> trans x1",)
    assert [(c.field, c.before, c.after) for c in stage.changes] == [("heads", None, 1), ("qkv_bias", None, True)]


def test_graph_draws_and_upstream_refuses_the_later_kinds():
    from spachc.lang.graph import to_mermaid
    from spachc.nn.upstream import UpstreamMismatch

    spec = make_spec("smlp_sepconv_nonsquare")
    text = to_mermaid(spec)
    assert "smlp x2" in text and "grid 8x6" in text and "classDef sepconv" in text and "classDef pool" not in text
    with pytest.raises(UpstreamMismatch, match="has sepconv, smlp blocks; the paper's reference checkpoints hold only"):
        spachc.from_upstream(spec, spachc.build(spec).state_dict())
