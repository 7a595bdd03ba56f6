"""JSON Schemas generated from the Pydantic models, so that other tools can read spachc's JSON.

`ir_schema()` describes a Spec (the IR, `spec.to_json()`); `build_json_schema()` describes
the whole `spachc build --json` document, `{"spec": Spec, "summary": Summary}`. Both are
generated, never written by hand, so they cannot drift from the models.
"""

from __future__ import annotations

from pydantic.json_schema import models_json_schema

from .._version import __version__
from .ir import IR_VERSION, Spec
from .summary import Summary

DRAFT = "https://json-schema.org/draft/2020-12/schema"
KINDS = ("ir", "build")


def ir_schema() -> dict:
    schema = Spec.model_json_schema(mode="serialization")
    return {"$schema": DRAFT, **schema, "title": "spachc IR (Spec)",
            "description": f"A resolved .spach architecture: IR version {IR_VERSION}, spachc {__version__}."}


def build_json_schema() -> dict:
    _, top = models_json_schema([(Spec, "serialization"), (Summary, "serialization")])
    return {
        "$schema": DRAFT,
        "title": "spachc build --json",
        "description": f"The IR and its counts (params, MACs at batch 1): IR version {IR_VERSION}, spachc {__version__}.",
        "type": "object",
        "properties": {"spec": {"$ref": "#/$defs/Spec"}, "summary": {"$ref": "#/$defs/Summary"}},
        "required": ["spec", "summary"],
        "additionalProperties": False,
        "$defs": top["$defs"],
    }


def schema(kind: str = "ir") -> dict:
    return {"ir": ir_schema, "build": build_json_schema}[kind]()
