"""Hostile schemas: no schema makes difyctl hang, and a schema's fault is never blamed on a document.

The time limit is injected as a tiny value: a catastrophically backtracking pattern never finishes,
so whatever the machine's speed the document ends `invalid` by the limit. Assertions are on verdicts.
"""

from __future__ import annotations

import threading
from typing import Any

import pytest

from difyctl.validation import deadline
from difyctl.validation.engine import Validator
from difyctl.validation.schema import SchemaLoadError, compile_schema

REDOS = "^(a+)+$"  # with EVIL: 2**50 ways to fail
EVIL = "a" * 50 + "!"
TINY = 0.02  # CPU seconds


def _pattern_schema(**extra: Any) -> dict[str, Any]:
    return {"type": "object", "properties": {"a": {"type": "string", "pattern": REDOS}}, **extra}


@pytest.mark.parametrize(
    ("schema", "doc", "rust"),
    [
        (_pattern_schema(), {"a": EVIL}, True),  # Rust rejects at once; jsonschema's `re` then backtracks
        (_pattern_schema(multipleOf=1), {"a": EVIL}, False),  # no Rust: the Python fast path backtracks
        # no Rust (it may pick other keys than re): the time limit alone ends it
        ({"patternProperties": {REDOS: True}, "additionalProperties": False}, {EVIL: 1}, False),
    ],
    ids=["pattern", "pattern-without-rust", "patternProperties"],
)
def test_a_backtracking_pattern_ends_invalid_naming_the_pattern(
    schema: dict[str, Any], doc: Any, rust: bool
) -> None:
    compiled = compile_schema(schema)
    assert (compiled.rust is not None) is rust
    result = Validator(compiled, time_limit=TINY).validate_value(doc)
    assert result.rung == "invalid"
    assert result.errors[0]["keyword"] == "pattern" and repr(REDOS) in result.errors[0]["message"]
    good = {"a": "aaa"} if "properties" in schema else {}
    assert Validator(compiled, time_limit=TINY).validate_value(good).rung == "parsed"


def test_the_limit_is_cpu_time_of_one_document_and_then_disarmed() -> None:
    validator = Validator(compile_schema(_pattern_schema()), time_limit=TINY)
    assert validator.validate_value({"a": EVIL}).rung == "invalid"
    assert not deadline._active.armed  # nothing left to fire into the next document
    assert validator.validate_value({"a": 1}).errors[0]["keyword"] == "type"  # plain errors still listed


def test_a_limit_of_zero_or_off_the_main_thread_is_no_limit() -> None:
    ran: list[bool] = []

    def body() -> None:
        with deadline.time_limit(TINY):
            ran.append(deadline._active.armed)

    thread = threading.Thread(target=body)
    thread.start()
    thread.join()
    with deadline.time_limit(0):
        ran.append(deadline._active.armed)
    assert ran == [False, False]


@pytest.mark.parametrize(
    "schema",
    [
        {"$ref": "#"},
        {"$defs": {"a": {"$ref": "#/$defs/a"}}, "$ref": "#/$defs/a"},
        {"$defs": {"a": {"not": {"$ref": "#/$defs/b"}}, "b": {"allOf": [{"$ref": "#/$defs/a"}]}}},
        {"properties": {"x": {"anyOf": [{"type": "string"}, {"$ref": "#/properties/x"}]}}},
        {
            "$schema": "http://json-schema.org/draft-07/schema#",
            "definitions": {"a": {"$ref": "#/definitions/a"}},
        },
    ],
)
def test_a_ref_cycle_that_never_reaches_the_document_is_an_invalid_schema(schema: Any) -> None:
    with pytest.raises(SchemaLoadError, match=r"^invalid schema schema: \$ref cycle"):
        compile_schema(schema)


def test_recursion_through_the_document_is_fine() -> None:
    tree = {"type": "object", "properties": {"kids": {"type": "array", "items": {"$ref": "#"}}}}
    validator = Validator(compile_schema(tree))
    assert validator.validate_value({"kids": [{"kids": []}]}).rung == "parsed"
    assert validator.validate_value({"kids": [{"kids": 1}]}).rung == "invalid"
