"""Verdict parity: with jsonschema-rs in front, every verdict is still jsonschema's.

Generated schemas (drafts 4 to 2020-12, formats, patterns, applicators) and documents biased towards
their edges: `Validator` must agree with jsonschema's own `is_valid` on every one, jsonschema-rs may
only say "valid" when jsonschema does, and where its verdict is marked exact it must be jsonschema's
both ways. Schemas jsonschema-rs could read more leniently must not get it at all.
"""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from difyctl.validation.engine import Validator
from difyctl.validation.rustpath import pattern_blocker
from difyctl.validation.schema import SchemaLoadError, compile_schema

DRAFTS = [
    "http://json-schema.org/draft-04/schema#",
    "http://json-schema.org/draft-06/schema#",
    "http://json-schema.org/draft-07/schema#",
    "https://json-schema.org/draft/2019-09/schema",
    "https://json-schema.org/draft/2020-12/schema",
]
PATTERNS = ["^a", "b$", "^[a-c]+$", "\\d", "^\\w+$", "x|y", "^.{2}$", "\\s", "^é"]
FORMATS = ["date", "email", "date-time", "uri", "ipv4", "hostname", "time", "regex", "uuid", "duration"]
STRINGS = [
    "",
    "a",
    "ab",
    "abc",
    "b",
    "x",
    "1",
    "٣",
    "a\n",
    "é",
    "a b",
    "2026-02-29",
    "2024-02-29",
    "0000-01-01",
    "a@b",
    "@",
    "no-at",
    "2026-12-01T10:00:00Z",
    "2026-12-01 10:00:00+01:00",
    "http://x.y/z",
    "http://[x",
    "10.0.0.1",
    "256.1.1.1",
    "host.example",
    "-bad-",
    "12:00:00Z",
    "[",
    "P1D",
    "\ud800",
]
NUMBERS = [0, 1, -1, 2, 3, 1.0, 1.5, -0.5, 10**20, 0.1, 0.3, 5, 7.0]

scalar = (
    st.none()
    | st.booleans()
    | st.sampled_from(NUMBERS)
    | st.integers(-5, 5)
    | st.floats(-10, 10, allow_nan=False)
    | st.sampled_from(STRINGS)
)
documents = st.recursive(
    scalar,
    lambda kids: (
        st.lists(kids, max_size=4)
        | st.dictionaries(st.sampled_from(["a", "b", "ab", "x", "1"]), kids, max_size=4)
    ),
    max_leaves=10,
)
names = st.sampled_from(["a", "b", "ab", "x"])
type_names = st.sampled_from(["null", "boolean", "integer", "number", "string", "array", "object"])


def leaf() -> st.SearchStrategy[dict[str, Any]]:
    return st.one_of(
        st.builds(
            lambda t: {"type": t}, type_names | st.lists(type_names, min_size=1, max_size=3, unique=True)
        ),
        st.builds(lambda v: {"enum": v}, st.lists(scalar, min_size=1, max_size=4)),
        st.builds(lambda v: {"const": v}, scalar),
        st.builds(lambda k, v: {k: v}, st.sampled_from(["minimum", "maximum"]), st.sampled_from(NUMBERS)),
        st.builds(
            lambda k, v: {k: v},
            st.sampled_from(["exclusiveMinimum", "exclusiveMaximum"]),
            st.sampled_from(NUMBERS),
        ),
        st.builds(
            lambda k, v: {k: v},
            st.sampled_from(["minLength", "maxLength", "minItems", "maxItems", "minProperties"]),
            st.integers(0, 3),
        ),
        st.builds(lambda p: {"pattern": p}, st.sampled_from(PATTERNS)),
        st.builds(lambda f: {"format": f}, st.sampled_from(FORMATS)),
        st.builds(lambda v: {"uniqueItems": v}, st.booleans()),
        st.builds(lambda v: {"required": v}, st.lists(names, min_size=1, max_size=2, unique=True)),
        st.builds(lambda v: {"multipleOf": v}, st.sampled_from([0.1, 2, 0.5])),
    )


def combine(kids: st.SearchStrategy[dict[str, Any]]) -> st.SearchStrategy[dict[str, Any]]:
    return st.one_of(
        st.builds(lambda a, b: {**a, **b}, kids, kids),
        st.builds(lambda v: {"properties": v}, st.dictionaries(names, kids, max_size=3)),
        st.builds(
            lambda p, a: {"properties": p, "additionalProperties": a},
            st.dictionaries(names, kids, max_size=2),
            st.booleans() | kids,
        ),
        st.builds(lambda p: {"patternProperties": {p[0]: p[1]}}, st.tuples(st.sampled_from(PATTERNS), kids)),
        st.builds(lambda v: {"items": v}, kids),
        st.builds(lambda v: {"propertyNames": v}, kids),
        st.builds(
            lambda k, v: {k: v},
            st.sampled_from(["allOf", "anyOf", "oneOf"]),
            st.lists(kids, min_size=1, max_size=3),
        ),
        st.builds(lambda v: {"not": v}, kids),
        st.builds(lambda v: {"contains": v}, kids),
    )


schemas = st.recursive(leaf(), combine, max_leaves=6)


def _compiled(schema: dict[str, Any], draft: str) -> Any:
    try:
        return compile_schema({"$schema": draft, **schema})
    except SchemaLoadError:
        assume(False)  # e.g. a numeric exclusiveMinimum in draft 4


@settings(max_examples=400, database=None, deadline=None, suppress_health_check=list(HealthCheck))
@given(schemas, st.sampled_from(DRAFTS), st.lists(documents, min_size=1, max_size=6))
def test_verdicts_are_jsonschemas(schema: dict[str, Any], draft: str, docs: list[Any]) -> None:
    compiled = _compiled(schema, draft)
    validator = Validator(compiled)
    for doc in docs:
        expected = compiled.validator.is_valid(doc)
        assert validator.validate_value(doc, parsed=True).ok is expected, (schema, doc)
        if compiled.rust is not None:
            rust = compiled.rust.verdict(doc)
            assert not rust or expected, ("Rust accepted what jsonschema rejects", schema, doc)
            if compiled.rust.exact and rust is not None:
                assert rust is expected, ("an exact Rust verdict differs", schema, doc)


@pytest.mark.parametrize(
    ("schema", "doc"),
    [
        ({"multipleOf": 0.1}, 0.3),  # Rust: a multiple; jsonschema: 0.3 / 0.1 = 2.9999999999999996
        ({"pattern": "^\\D+$"}, "٣"),  # an Arabic digit: not \\d for ECMA, \\d for Python
        ({"pattern": "(?i)^a$"}, "A"),
        ({"format": "date"}, "0000-01-01"),  # Rust's own date check takes year 0; Python's does not
    ],
)
def test_where_rust_would_be_more_lenient_jsonschema_decides(schema: dict[str, Any], doc: Any) -> None:
    compiled = compile_schema(schema)
    assert Validator(compiled).validate_value(doc).ok is compiled.validator.is_valid(doc)
    if "format" in schema:
        assert compiled.rust is not None and compiled.rust.verdict(doc) is False  # Python's function ran


def test_which_patterns_rust_may_take() -> None:
    assert pattern_blocker("^[a-z]+\\.json$") is None
    assert pattern_blocker("^\\d{4}-\\w+$") is None  # stricter in Rust (ASCII), never more lenient
    for pattern in ["\\s", "\\D", "\\W", "[^\\d]", "\\bx", "(?=a)", "(a)\\1", "[[:alpha:]]", "\\p{L}"]:
        assert pattern_blocker(pattern) is not None, pattern


def test_uri_format_with_a_broken_ipv6_host_is_invalid_not_a_crash() -> None:
    validator = Validator(compile_schema({"format": "uri"}))
    assert validator.validate_value("http://[x").errors[0]["keyword"] == "format"
    assert validator.validate_value("https://example.com/a?b=1").ok


@pytest.mark.parametrize(
    ("schema", "doc"),
    [
        # re's `$` also matches before a final newline: "a\n" is one of ^a$'s keys for jsonschema, not
        # for Rust, which then never applies the subschema. In patternProperties, any difference in
        # which keys a pattern matches can make Rust more lenient (stricter matching included).
        ({"patternProperties": {"^a$": {"type": "integer"}}}, {"a\n": "x"}),
        # ECMA's \s takes U+FEFF (and U+180E...), re's does not: Rust matches where jsonschema fails
        ({"pattern": "^\\s$"}, "\ufeff"),
        ({"patternProperties": {"^\\s$": {}}, "additionalProperties": False}, {"\ufeff": 1}),
        # Rust's stricter `$` turns lenient under a negation: not, if, oneOf, maxContains
        ({"not": {"pattern": "^a$"}}, "a\n"),
        ({"oneOf": [{"pattern": "^a$"}, {"const": "a\n"}]}, "a\n"),
        ({"if": {"pattern": "^a$"}, "then": {"maxLength": 1}}, "a\n"),
        ({"contains": {"pattern": "^a$"}, "maxContains": 1}, ["a", "a\n"]),
    ],
)
def test_regexes_rust_reads_more_leniently_leave_the_verdict_to_jsonschema(
    schema: dict[str, Any], doc: Any
) -> None:
    compiled = compile_schema(schema)
    assert compiled.validator.is_valid(doc) is False
    assert Validator(compiled).validate_value(doc, parsed=True).ok is False
