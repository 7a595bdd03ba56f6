"""`spachc schema`: JSON Schemas generated from the models validate what spachc writes,
and reject what it never would."""

from __future__ import annotations

import copy
import json
import subprocess
import sys

import jsonschema
import pytest

import spachc
from spachc.lang.resources import zoo_names
from spachc.lang.schema import build_json_schema, ir_schema
from support.cli import run_cli
from support.paths import REPO


def build_json_document(spec: spachc.Spec) -> dict:
    """What `spachc build --json` prints (cli/build_cmd.py), without building the weights;
    test_real_build_json_matches checks this against the real command."""
    return {"spec": json.loads(spec.to_json()), "summary": json.loads(spachc.summary(spec).model_dump_json())}


@pytest.fixture(scope="module")
def build_validator() -> jsonschema.Draft202012Validator:
    schema = build_json_schema()
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(schema)


def test_both_schemas_are_valid_draft_2020_12():
    for schema in (ir_schema(), build_json_schema()):
        assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
        jsonschema.Draft202012Validator.check_schema(schema)
    assert set(build_json_schema()["$defs"]) == {"Spec", "Stage", "Stem", "Group", "Block", "Summary", "StageRow"}


def test_every_zoo_spec_validates(build_validator):
    ir = jsonschema.Draft202012Validator(ir_schema())
    names = zoo_names()
    assert len(names) == 21
    for name in names:
        doc = build_json_document(spachc.load(name))
        assert list(build_validator.iter_errors(doc)) == [], name
        assert list(ir.iter_errors(doc["spec"])) == [], name


def test_real_build_json_matches(build_validator):
    result = run_cli("build", "trans_ms_xxs", "--json")
    assert result.returncode == 0, result.stderr
    doc = json.loads(result.stdout)
    build_validator.validate(doc)
    assert doc == build_json_document(spachc.load("trans_ms_xxs"))
    assert doc["summary"]["params"] == 2_372_744  # SPACH.md zoo table


@pytest.mark.parametrize("where, value", [
    (("spec", "stages", 0, "grid"), [56]),                  # a grid is (height, width)
    (("spec", "stages", 0, "groups", 0, "kind"), "transformer"),
    (("spec", "stages", 0, "cpe"), "yes"),
    (("spec", "stem", "patch"), 0),
    (("spec", "drop_path"), 1.0),
    (("spec", "version"), 2),
    (("spec", "colour"), "blue"),                           # the IR forbids unknown fields
    (("summary", "params"), "63M"),
    (("extra",), {}),
])
def test_what_spachc_never_writes_is_rejected(build_validator, where, value):
    doc = copy.deepcopy(build_json_document(spachc.load("hybrid_s")))
    target = doc
    for key in where[:-1]:
        target = target[key]
    target[where[-1]] = value
    assert not build_validator.is_valid(doc)


def test_missing_parts_are_rejected(build_validator):
    doc = build_json_document(spachc.load("hybrid_s"))
    assert not build_validator.is_valid({"spec": doc["spec"]})
    del doc["spec"]["stages"][1]["channel_hidden"]
    assert not build_validator.is_valid(doc)


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
