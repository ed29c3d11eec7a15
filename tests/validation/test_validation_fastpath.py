"""The accept-only fast path agrees with jsonschema, and steps aside for what it does not support."""

from __future__ import annotations

from functools import cache
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from difyctl.validation.schema import CompiledSchema, compile_schema

D7 = "http://json-schema.org/draft-07/schema#"
SCHEMAS: list[dict[str, Any]] = [
    {
        "type": "object",
        "required": ["name", "status"],
        "additionalProperties": False,
        "properties": {
            "name": {"type": "string", "minLength": 1, "maxLength": 5, "pattern": "^[a-z]"},
            "status": {"enum": ["ok", "error", 1, True, None]},
            "age": {"type": ["integer", "null"], "minimum": 0, "exclusiveMaximum": 3},
            "score": {"type": "number", "maximum": 1, "exclusiveMinimum": 0},
            "email": {"type": "string", "format": "email"},
            "when": {"format": "date-time"},
            "tags": {
                "type": "array",
                "items": {"type": "string"},
                "maxItems": 3,
                "minItems": 1,
                "uniqueItems": True,
            },
            "kind": {"const": {"a": [1, 2]}},
        },
    },
    {
        "$defs": {
            "node": {
                "type": "object",
                "properties": {
                    "v": {"type": "integer"},
                    "kids": {"type": "array", "items": {"$ref": "#/$defs/node"}},
                },
            }
        },
        "anyOf": [{"$ref": "#/$defs/node"}, {"type": "string"}],
        "oneOf": [{"required": ["v"]}, {"required": ["kids"]}, {"type": "string"}],
        "additionalProperties": {"type": ["integer", "array"]},
    },
    {
        "$schema": D7,
        "definitions": {"s": {"type": "string"}},
        "properties": {
            "a": {"$ref": "#/definitions/s", "type": "integer"},
            "b": {"allOf": [{"minimum": 1}, {"maximum": 2}]},
        },
    },
]
atoms = st.sampled_from(
    ["ok", "error", "a", "abc", "Abc", "abcdef", "", "x@y.io", "nope", "2026-11-21T10:00:00Z", "soon"]
    + [0, 1, 2, 3, -1, 0.5, 1.0, 2.5, True, False, None]
)
keys = st.sampled_from(
    ["name", "status", "age", "score", "email", "when", "tags", "kind", "v", "kids", "a", "b", "zz"]
)
values = st.recursive(
    atoms,
    lambda kids: (
        st.lists(kids, max_size=4) | st.dictionaries(keys, kids, max_size=6) | st.just({"a": [1, 2]})
    ),
    max_leaves=25,
)


@cache
def compiled_at(index: int) -> CompiledSchema:
    return compile_schema(SCHEMAS[index])


@pytest.mark.parametrize("index", range(len(SCHEMAS)))
@settings(max_examples=300, database=None)
@given(value=values)
def test_fast_path_agrees_with_jsonschema(index: int, value: Any) -> None:
    compiled = compiled_at(index)
    assert compiled.fast is not None
    assert compiled.fast(value) == compiled.validator.is_valid(value)


@pytest.mark.parametrize(
    "schema",
    [
        {"not": {"type": "string"}},
        {"patternProperties": {"^x": {"type": "string"}}, "additionalProperties": False},
        {"$schema": D7, "items": [{"type": "string"}]},
        {"prefixItems": [{"type": "string"}]},
        {"properties": {"a": {"$id": "https://example.com/a", "type": "string"}}},
        {"$ref": "#anchor"},
        {"multipleOf": 0.1},
        {"if": {"type": "string"}, "then": {"minLength": 1}},
        {"$schema": "http://json-schema.org/draft-04/schema#", "type": "integer"},
    ],
)
def test_unsupported_schemas_get_no_fast_path(schema: dict[str, Any]) -> None:
    if schema.get("$ref") == "#anchor":
        schema = {**schema, "$defs": {"a": {"$anchor": "anchor", "type": "string"}}}
    assert compile_schema(schema).fast is None


def test_unknown_keywords_are_ignored_as_jsonschema_does() -> None:
    compiled = compile_schema({"type": "string", "x-ui-widget": "textarea"})
    assert compiled.fast is not None and compiled.fast("a") and not compiled.fast(1)
