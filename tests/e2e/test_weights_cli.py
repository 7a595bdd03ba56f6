"""`spachc build` of a broken weights file fails with one message (the files themselves are
tests/unit/test_weights.py)."""

from __future__ import annotations

import pytest
from support.cli import run_cli
from support.exporting import random_model

from spachc.model_io.tensors import save_weights


@pytest.fixture
def saved(tmp_path):
    spec, model = random_model("conv4")
    path = tmp_path / "model.safetensors"
    save_weights(model, spec, path)
    return path


def test_build_of_a_broken_file_fails_with_one_message(saved):
    data = saved.read_bytes()
    saved.write_bytes(data[:-1])
    result = run_cli("build", str(saved))
    assert result.returncode == 1
    assert result.stderr.startswith(f"error[E812]: {saved}: truncated")
    assert "Traceback" not in result.stderr
