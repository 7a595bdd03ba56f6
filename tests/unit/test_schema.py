"""The JSON Schemas generated from the models: valid draft 2020-12, every zoo spec validates, and
what spachc never writes is rejected (`spachc schema` and real build output are
tests/e2e/test_schema_cli.py)."""

from __future__ import annotations

import copy
import json

import jsonschema
import pytest

import spachc
from spachc.lang.resources import zoo_names
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
