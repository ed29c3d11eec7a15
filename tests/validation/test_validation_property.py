"""Property tests: wrapped JSON is recovered exactly; valid JSON is never changed; no input crashes."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from difyctl.validation.engine import Validator
from difyctl.validation.repair import Ladder
from difyctl.validation.schema import compile_schema

scalars = (
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.text()
)
json_values = st.recursive(
    scalars,
    lambda children: (
        st.lists(children, max_size=5) | st.dictionaries(st.text(max_size=8), children, max_size=5)
    ),
    max_leaves=20,
)
containers = st.lists(json_values, max_size=5) | st.dictionaries(st.text(max_size=8), json_values, max_size=5)
# prose that an answer may carry around its JSON: no brackets, quotes or backticks (those would be JSON-ish)
prose = st.text(st.characters(blacklist_characters="{}[]\"'`<>", blacklist_categories=["Cs"]), max_size=40)
ACCEPT_ALL = Validator(compile_schema(True))


def same(a: Any, b: Any) -> bool:
    """Equal as JSON, types included (1 != 1.0 != True)."""
    return json.dumps(a, sort_keys=False) == json.dumps(b, sort_keys=False)


def serialise(value: Any, indent: int | None, ascii_only: bool) -> str:
    return json.dumps(value, indent=indent, ensure_ascii=ascii_only)


@settings(max_examples=150, database=None)
@given(json_values, st.sampled_from([None, 2]), st.booleans())
def test_valid_json_is_never_changed(value: Any, indent: int | None, ascii_only: bool) -> None:
    text = serialise(value, indent, ascii_only)
    candidates = list(Ladder(text))
    assert len(candidates) == 1
    assert same(candidates[0].value, value) and candidates[0].repairs == ()
    doc = ACCEPT_ALL.validate_text(text)
    assert doc.rung == "parsed" and same(doc.value, value)


@settings(max_examples=150, database=None)
@given(json_values, st.sampled_from(["json", "JSON", ""]), prose, prose, st.booleans())
def test_fenced_json_is_recovered_exactly(
    value: Any, lang: str, before: str, after: str, indent: bool
) -> None:
    text = f"{before}\n```{lang}\n{serialise(value, 2 if indent else None, False)}\n```\n{after}"
    doc = ACCEPT_ALL.validate_text(text)
    assert doc.rung == "repaired" and same(doc.value, value)
    assert "code_fence" in doc.repairs


@settings(max_examples=150, database=None)
@given(json_values, prose, st.sampled_from(["think", "thinking"]))
def test_think_block_is_dropped_exactly(value: Any, thoughts: str, tag: str) -> None:
    text = f"<{tag}>{thoughts}</{tag}>\n{serialise(value, None, False)}"
    doc = ACCEPT_ALL.validate_text(text)
    assert doc.rung == "repaired" and same(doc.value, value) and doc.repairs == ("think_block",)


@settings(max_examples=150, database=None)
@given(containers, prose, prose)
def test_containers_in_prose_are_recovered_exactly(value: Any, before: str, after: str) -> None:
    text = f"{before} {serialise(value, None, False)} {after}"
    doc = ACCEPT_ALL.validate_text(text)
    assert doc.ok and same(doc.value, value)


@settings(max_examples=200, database=None)
@given(st.text(max_size=200))
def test_any_text_ends_in_a_result_never_an_exception(text: str) -> None:
    doc = ACCEPT_ALL.validate_text(text)
    assert doc.rung in ("parsed", "repaired", "invalid")
    if doc.rung == "invalid":
        assert doc.errors and doc.errors[0]["message"]


def empty_strings(value: Any) -> int:
    if isinstance(value, dict):
        return sum((k == "") + empty_strings(v) for k, v in value.items())
    if isinstance(value, list):
        return sum(empty_strings(v) for v in value)
    return int(value == "")


@settings(max_examples=300, database=None)
@given(st.text(st.sampled_from("{}[],:\"'ab1 \n"), max_size=60))
def test_json_ish_noise_never_crashes_and_never_invents_empty_strings(text: str) -> None:
    for cand in Ladder(text):
        assert empty_strings(cand.value) <= text.count('""') + text.count("''")
