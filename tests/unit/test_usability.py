"""Rough edges a newcomer hit, in process: errors that `--set` causes are reported at the
`--set`, short runs of the spach recipe get their warmup scaled, inverted crop ranges are
refused, every error has a code, the repeat-count hint quotes what was written, the epoch line
fits 80 columns, and the library's export verifies and reports (the same edges at the command
line are tests/e2e/test_usability_cli.py)."""

from __future__ import annotations

import pytest
from support.paths import REPO

import spachc
from spachc.diagnostics import SpecError, UserError


# --- errors that --set causes are reported at the --set -------------------------------------------

def test_an_error_only_set_causes_points_at_the_set_argument():
    with pytest.raises(SpecError) as info:
        spachc.load(REPO / "specs" / "mlp_ms_xxs.spach", overrides=["input=32"])
    (d,) = info.value.diagnostics
    assert d.code == "E305" and d.span.source.name == "--set input=32"
    assert d.render().startswith("--set input=32:1:1: error[E305]")
    (note,) = d.notes  # where the spec says it, valid on its own
    assert note.span.source.name.endswith("mlp_ms_xxs.spach") and (note.span.line, note.span.column) == (6, 34)


# --- one error per --set, at the --set ------------------------------------------------------------

@pytest.mark.parametrize("item, message", [("heads=0", "heads must be at least 1, got 0"),
                                           ("dim=0", "dim must be at least 1, got 0")])
def test_a_bad_set_value_is_reported_once_at_the_argument(item, message):
    with pytest.raises(SpecError) as info:
        spachc.load("hybrid_s", overrides=[item])
    (d,) = info.value.diagnostics
    assert (d.code, d.message, d.span.source.name) == ("E302", message, f"--set {item}")


def test_the_spec_own_errors_stay_in_the_spec(tmp_path):
    bad = tmp_path / "bad.spach"
    bad.write_text("input 32\nstem patch 4\nstage conv x1 dim 8 channel_ratio 0\n")
    with pytest.raises(SpecError) as info:
        spachc.load(bad, overrides=["classes=10"])
    (d,) = info.value.diagnostics
    assert d.code == "E303" and d.span.source.name == str(bad) and d.line == 3


# --- short runs, and recipe values that cannot work -----------------------------------------------

def test_a_short_run_of_the_spach_recipe_gets_its_warmup_scaled():
    from spachc.train.recipe import fit_to_run, resolve_recipe
    from spachc.train.schedule import lr_at

    recipe = resolve_recipe("spach", {"epochs": "5"})
    fitted, warning = fit_to_run(recipe, "spach", {"epochs"})
    assert warning.code == "W1001" and warning.severity == "warning"
    assert fitted.warmup_epochs + fitted.cooldown_epochs < fitted.epochs
    steps = 10
    peak = fitted.peak_lr(128)
    assert max(lr_at(s, steps, fitted, peak) for s in range(5 * steps)) == pytest.approx(peak, rel=0.05)
    kept, warning = fit_to_run(resolve_recipe("spach", {"epochs": "5", "warmup_epochs": "20"}), "spach",
                               {"epochs", "warmup_epochs"})
    assert kept.warmup_epochs == 20 and "never holds its peak" in warning.message


@pytest.mark.parametrize("flags", [{"crop_scale": ("1", "0.5")}, {"crop_ratio": ("2", "1")},
                                   {"crop_scale": ("0.5", "1.5")}])
def test_an_inverted_crop_range_is_refused(flags):
    from spachc.train.recipe import RecipeError, resolve_recipe

    with pytest.raises(RecipeError) as info:
        resolve_recipe("quick", flags)
    assert info.value.code == "E1002" and f"--{next(iter(flags)).replace('_', '-')}" in str(info.value)


# --- every error has a code -----------------------------------------------------------------------

def test_export_option_the_spec_cannot_take_has_a_code(tmp_path):
    spec = spachc.parse("model m\ninput 32\nclasses 10\nstem patch 4\nstage mlp x1 dim 8\n")
    with pytest.raises(UserError) as info:
        spachc.export(spec, onnx=tmp_path / "m.onnx", dynamic_size=True)
    assert info.value.code == "E909" and not (tmp_path / "m.onnx").exists()


def test_repeat_count_hint_quotes_what_was_written():
    with pytest.raises(SpecError) as info:
        spachc.parse("input 32\nstem patch 4\nstage conv x 2 dim 8\n")
    (d,) = info.value.diagnostics
    assert d.code == "E104" and d.hint == "write it as x2, not x 2"


def test_epoch_summary_fits_80_columns():
    from spachc.train.loop import epoch_line

    worst = {"epoch": 300, "train_loss": 12.3456, "val_loss": 10.1234, "val_top1": 100.0, "val_top5": 100.0,
             "val_top1_ema": 100.0}
    line = epoch_line(worst, 300, best=True)
    assert line.endswith("(best)") and len(line) <= 80, (len(line), line)
    assert line.startswith("epoch 300/300  train loss 12.346  val 10.123  top-1 100.00%")


# --- export publishes in the library --------------------------------------------------------------

def test_library_export_verifies_and_reports(tmp_path):
    spec = spachc.parse("model m\ninput 16\nclasses 3\nstem patch 4\nstage conv x1 dim 8\n")
    report = spachc.export(spec, safetensors=tmp_path / "m.safetensors")
    (published,) = report.files
    assert published.path == tmp_path / "m.safetensors" and published.verification.ok
    assert [c.shape for c in published.verification.cases] == [(1, 3, 16, 16), (3, 3, 16, 16)]
    from spachc.model_io.tensors import load_weights

    assert load_weights(published.path)[0].hash == spec.hash
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.safetensors"]  # no temporary left behind


HYBRID_TINY = """\
model hybrid_tiny
input 32
classes 5
stem conv1 patch 4
stage conv x1 dim 16
-> down -> stage trans x1 dim 32 heads 2
"""


def test_a_library_export_that_cannot_be_made_fails_before_any_work(tmp_path):
    """Refusals keep their codes and leave nothing behind (a failure after work began carries
    its `.report`: tests/e2e/test_int8_cli.py)."""
    spec = spachc.parse(HYBRID_TINY)
    with pytest.raises(UserError) as info:
        spachc.export(spec, onnx=tmp_path / "m.onnx", safetensors=tmp_path / "m.safetensors",
                      weights=tmp_path / "missing.safetensors")
    assert info.value.code == "E1011" and not hasattr(info.value, "report")  # failed before any work
    with pytest.raises(UserError) as info:
        spachc.export(spec, onnx=tmp_path / "m.onnx", safetensors=tmp_path / "m.safetensors", dynamic_size=True,
                      features=True)
    assert info.value.code == "E1204"
    assert list(tmp_path.iterdir()) == []
