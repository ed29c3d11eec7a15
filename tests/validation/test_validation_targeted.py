"""The targeted repairs that run before json-repair, and the numbers no repair may turn into values.

Each named repair must be made by `scan`'s rewrite alone (json-repair is made to explode here), with
exactly the values written; anything that only looks like a number is refused (oracle, issue 11).
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from difyctl.validation.engine import Validator
from difyctl.validation.schema import compile_schema

ACCEPT_ALL = Validator(compile_schema(True))


@pytest.fixture
def no_json_repair(monkeypatch: pytest.MonkeyPatch) -> None:
    import json_repair

    def explode(*_: Any, **__: Any) -> Any:
        raise AssertionError("json-repair was called for a targeted repair")

    monkeypatch.setattr(json_repair, "repair_json", explode)


@pytest.mark.parametrize(
    ("text", "value", "repairs"),
    [
        ('{"a": [1, 2,],}', {"a": [1, 2]}, ("trailing_comma",)),
        ('```json\n{"a": 1,}\n```', {"a": 1}, ("code_fence", "trailing_comma")),
        ("<think>hmm {</think>{'a': 1}", {"a": 1}, ("think_block", "quotes")),
        ("{'a': 'it\\'s', 'b': \"x\"}", {"a": "it's", "b": "x"}, ("quotes",)),
        (
            "{'a': None, 'b': True, 'c': False}",
            {"a": None, "b": True, "c": False},
            ("quotes", "python_literals"),
        ),
        ('{"a": 1,}\nLet me know if you need more!', {"a": 1}, ("surrounding_text", "trailing_comma")),
        ('{"a": 1, // the count\n "b": 2}', {"a": 1, "b": 2}, ("comments",)),
        ("{a: 1, b_2: [true]}", {"a": 1, "b_2": [True]}, ("quotes",)),
    ],
    ids=[
        "trailing_comma",
        "code_fence",
        "think_block",
        "quotes",
        "python_literals",
        "prose_line",
        "comments",
        "unquoted_keys",
    ],
)
def test_each_targeted_repair_is_named_and_needs_no_json_repair(
    no_json_repair: None, text: str, value: Any, repairs: tuple[str, ...]
) -> None:
    doc = ACCEPT_ALL.validate_text(text)
    assert (doc.rung, doc.value, doc.repairs) == ("repaired", value, repairs)


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ('{"a": "x", "b": {"c": 1', {"a": "x", "b": {"c": 1}}),
        ('{"a": [1, 2,', {"a": [1, 2]}),
        ('{"a": "hel', {"a": "hel"}),  # a string cut short keeps what was written
        ('{"a": 1, "tags": [', {"a": 1, "tags": []}),
        ('{"a": 1, "', {"a": 1}),  # a bare opening quote is no key yet
        ("{'a': 'x', 'b': Tr", None),  # a word cut short: beyond the targeted repairs
    ],
)
def test_a_truncated_answer_is_closed_where_it_stopped(
    monkeypatch: pytest.MonkeyPatch, text: str, value: Any
) -> None:
    import json_repair

    calls: list[str] = []
    real = json_repair.repair_json

    def spy(span: str, **kw: Any) -> Any:
        calls.append(span)
        return real(span, **kw)

    monkeypatch.setattr(json_repair, "repair_json", spy)
    doc = ACCEPT_ALL.validate_text(text)
    if value is None:
        assert calls == [text]  # json-repair decides
    else:
        assert (doc.rung, doc.value, doc.repairs) == ("repaired", value, ("truncation",)) and calls == []


@pytest.mark.parametrize("text", ['{"a": 1, "b":', '{"a": 1, "b"', '{"a": 1, "bc'])
def test_an_answer_cut_at_a_key_is_refused_without_json_repair(no_json_repair: None, text: str) -> None:
    doc = ACCEPT_ALL.validate_text(text)
    assert doc.rung == "invalid" and "cut off at a key" in doc.errors[0]["message"]


def test_after_a_quick_repair_the_next_value_is_found_where_it_stands() -> None:
    needs_b = Validator(compile_schema({"type": "object", "required": ["b"]}))
    doc = needs_b.validate_text("""First {'a': 'it\\'s', 'l': [1,],} then {"b": 2} and done""")
    assert (doc.rung, doc.value, doc.repairs) == ("repaired", {"b": 2}, ("surrounding_text",))


@pytest.mark.parametrize("number", ["1_000", "0x10", "1e", ".5", "+1", "01", "1.", "-.5", "5px"])
@pytest.mark.parametrize("wrap", ['{{"a": {}}}', "[1, {}]", '```json\n{{"a": {},}}\n```', "{{'a': {}}}"])
def test_a_number_json_does_not_allow_is_invalid_never_repaired(number: str, wrap: str) -> None:
    doc = ACCEPT_ALL.validate_text(wrap.format(number))
    assert doc.rung == "invalid" and doc.value is None
    assert doc.errors[0]["message"].startswith(f"repair refused: {number} is not a JSON number")


@pytest.mark.parametrize("number", ["0", "-0", "10", "1.5", "-2e10", "1E+2", "0.5e-3"])
def test_json_numbers_are_kept_exactly(no_json_repair: None, number: str) -> None:
    doc = ACCEPT_ALL.validate_text(f"{{'a': {number},}}")
    assert doc.rung == "repaired" and json.dumps(doc.value) == json.dumps({"a": json.loads(number)})


@pytest.mark.parametrize(
    "text",
    ['{"items": [{"id": 1}, {"id": 2', '{"user": {"id": 1}, "note": "trunc', '```json\n[{"id": 1}, {"id":'],
)
def test_a_truncated_document_never_validates_as_a_fragment_of_itself(text: str) -> None:
    doc = Validator(compile_schema({"type": "object", "required": ["id"]})).validate_text(text)
    assert doc.rung == "invalid"


# -- the Python-literal corpus: repr() of a JSON value repairs to exactly that value ---------------------
plain_text = st.text(st.characters(codec="utf-8", exclude_categories=["Cs", "Cc"]), max_size=12)
scalars = (
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | plain_text
)
values = st.recursive(
    scalars,
    lambda kids: st.lists(kids, max_size=4) | st.dictionaries(plain_text, kids, max_size=4),
    max_leaves=12,
)


@settings(max_examples=200, database=None)
@given(st.dictionaries(plain_text, values, min_size=1, max_size=5))
def test_python_literal_dicts_repair_to_exactly_what_they_wrote(value: dict[str, Any]) -> None:
    text = repr(value)
    doc = ACCEPT_ALL.validate_text(text)
    assert doc.rung in ("parsed", "repaired"), (text, doc.errors)  # repr may be JSON already
    assert json.dumps(doc.value) == json.dumps(value)  # types too: None -> null, 1 != 1.0 != True
