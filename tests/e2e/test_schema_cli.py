"""`spachc schema` prints and writes the schemas, a real `build --json` validates against them,
and the command never imports torch (the schemas themselves are tests/unit/test_schema.py)."""

from __future__ import annotations
import json
import subprocess
import sys

import jsonschema
import pytest
from support.cli import run_cli
from support.paths import REPO

import spachc
from spachc.lang.schema import build_json_schema, ir_schema


def build_json_document(spec: spachc.Spec) -> dict:
    """What `spachc build --json` prints (cli/build_cmd.py), without building the weights;
    test_real_build_json_matches checks this against the real command."""
    return {"spec": json.loads(spec.to_json()), "summary": json.loads(spachc.summary(spec).model_dump_json())}


@pytest.fixture(scope="module")
def build_validator() -> jsonschema.Draft202012Validator:
    schema = build_json_schema()
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(schema)


def test_real_build_json_matches(build_validator):
    result = run_cli("build", "trans_ms_xxs", "--json")
    assert result.returncode == 0, result.stderr
    doc = json.loads(result.stdout)
    build_validator.validate(doc)
    assert doc == build_json_document(spachc.load("trans_ms_xxs"))
    assert doc["summary"]["params"] == 2_372_744  # SPACH.md zoo table


def test_cli_prints_and_writes_the_schemas(tmp_path):
    result = run_cli("schema")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == ir_schema()
    target = tmp_path / "build.schema.json"
    result = run_cli("schema", "--of", "build", "-o", str(target))
    assert result.returncode == 0, result.stderr
    assert json.loads(target.read_text()) == build_json_schema()
    result = run_cli("schema", "--of", "weights")
    assert result.returncode == 2 and "weights" in result.stderr and "Traceback" not in result.stderr


def test_schema_does_not_import_torch():
    probe = ("import atexit, sys; atexit.register(lambda: print('torch loaded:', 'torch' in sys.modules)); "
             "import spachc.cli.schema_cmd; assert 'torch' not in sys.modules; "
             "sys.argv = ['spachc', 'schema', '--of', 'build']; "
             "from spachc.cli.app import main; main()")
    result = subprocess.run([sys.executable, "-c", probe], cwd=REPO, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.rstrip().endswith("torch loaded: False")
    assert '"title": "spachc build --json"' in result.stdout
