"""A study's session log: lines are appended whole, and logging into a vanished run folder does
not mask the run's error (study folders under attack are tests/e2e/test_study_folders_cli.py)."""

from __future__ import annotations

import json
import shutil

import pytest
from support.studies import make_study, sweep

from spachc.sweep import runner

RUN = ["--data", "animals", "--limit-train", "32", "--limit-val", "16", "--recipe", "quick", "--epochs", "1",
       "--batch-size", "16", "--warmup-epochs", "0", "--seeds", "0", "--log-every", "1", "--device", "cpu",
       "--no-throughput"]


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """A study of two samples (conv, trans), each trained for one epoch: copied by each test."""
    study = make_study(tmp_path_factory.mktemp("trained"))
    proc = sweep("run", str(study), *RUN)
    assert proc.returncode == 0, proc.stderr
    return study


@pytest.fixture
def study(trained, tmp_path):
    copy = tmp_path / "study"
    shutil.copytree(trained, copy)
    return copy


def test_session_lines_are_appended_whole(tmp_path):
    from spachc.sweep.study import session_seconds

    out = tmp_path / "run"
    out.mkdir()
    runner._log_session(out, 0, 1, 1.25)
    runner._log_session(out, 1, 2, 2.5)
    lines = (out / runner.SESSIONS_FILE).read_text().splitlines()
    assert [json.loads(line) for line in lines] == [{"from_epoch": 0, "to_epoch": 1, "seconds": 1.25},
                                                    {"from_epoch": 1, "to_epoch": 2, "seconds": 2.5}]
    assert session_seconds(out / runner.SESSIONS_FILE) == 3.75


def test_logging_a_session_into_a_vanished_run_folder_does_not_mask_the_run_error(tmp_path):
    # In `_train_plan`'s `finally`, a FileNotFoundError here replaced E1005 (checkpoint write failed).
    runner._log_session(tmp_path / "gone", 0, 1, 1.0)
    assert not (tmp_path / "gone").exists()
