"""Readable choice labels, and one `--workers` default shared by `sweep` and `train` (robust
studies are tests/e2e/test_sweep_robust_cli.py)."""

from __future__ import annotations
import inspect

from spachc.sweep.report import readable_label


def test_readable_choice_labels():
    assert readable_label("family") == "family"
    assert readable_label("pipeline2.stage1.depth") == "stage 1 depth (pipeline 2)"
    assert readable_label("stage3.group2.kind") == "stage 3 group 2 kind"
    assert readable_label("stem.patch") == "stem patch"
    assert readable_label("pipeline") == "pipeline"


def test_sweep_and_train_share_one_workers_default():
    from spachc.cli.common import DEFAULT_WORKERS
    from spachc.cli.sweep_cmd import run_command
    from spachc.cli.train_cmd import train_command

    defaults = [inspect.signature(f).parameters["workers"].default.default for f in (run_command, train_command)]
    assert defaults == [DEFAULT_WORKERS, DEFAULT_WORKERS]
