"""The parse -> repair ladder: what is repaired, how it is recorded, and what is refused."""

from __future__ import annotations

from typing import Any

import pytest

from difyctl.validation.repair import Candidate, Ladder, parse_strict, strip_think, unfence


def first(text: str, repair: bool = True) -> tuple[Candidate | None, Ladder]:
    ladder = Ladder(text, repair=repair)
    return next(iter(ladder), None), ladder


@pytest.mark.parametrize(
    ("text", "value", "repairs"),
    [
        ('{"a": 1}', {"a": 1}, ()),
        ("  \n[1, 2]\n ", [1, 2], ()),
        ("\ufeff42", 42, ()),
        ('```json\n{"a": 1}\n```', {"a": 1}, ("code_fence",)),
        ("```\n[1]\n```", [1], ("code_fence",)),
        (
            'Here you go:\n```json\n{"a": 1}\n```\nAnything else?',
            {"a": 1},
            ("code_fence", "surrounding_text"),
        ),
        ('<think>The user wants {"a": 2}</think>\n{"a": 1}', {"a": 1}, ("think_block",)),
        ('Okay, reasoning here.\n</think>\n\n{"a": 1}', {"a": 1}, ("think_block",)),
        (
            '<details style="color:gray" open> <summary> Thinking... </summary>hmm</details>{"a": 1}',
            {"a": 1},
            ("think_block",),
        ),
        ('<think>x</think>```json\n{"a": 1}\n```', {"a": 1}, ("think_block", "code_fence")),
        ('Sure! {"a": 1} Hope this helps.', {"a": 1}, ("surrounding_text",)),
        ('{"a": [1, 2,],}', {"a": [1, 2]}, ("trailing_comma",)),
        ("{'a': 'b'}", {"a": "b"}, ("quotes",)),
        ('{a: 1, b: "x"}', {"a": 1, "b": "x"}, ("quotes",)),
        ('{"a": “smart”}', {"a": "smart"}, ("quotes",)),
        ('{"a": 1 /* note */, // line\n "b": 2}', {"a": 1, "b": 2}, ("comments",)),
        ('{"a": True, "b": None}', {"a": True, "b": None}, ("python_literals",)),
        ('{"name": "x", "tags": ["a", "b', {"name": "x", "tags": ["a", "b"]}, ("truncation",)),
        ('```json\n{"a": [1, 2\n', {"a": [1, 2]}, ("code_fence", "truncation")),
        ('Result: {"a": 1,} done', {"a": 1}, ("surrounding_text", "trailing_comma")),
    ],
)
def test_ladder_recovers_and_records(text: str, value: Any, repairs: tuple[str, ...]) -> None:
    cand, ladder = first(text)
    assert cand is not None, ladder.failure
    assert cand.value == value
    assert cand.repairs == repairs


@pytest.mark.parametrize(
    ("text", "keyword", "fragment"),
    [
        ("", "json", "empty"),
        ("   \n ", "json", "empty"),
        ("I cannot answer that question.", "json", "no JSON object or array"),
        ("{", "json", "only brackets"),
        ("[[[[[[", "json", "only brackets"),
        ('{"a": 1, "b":', "json", "cut off at a key"),  # json-repair would invent "b": ""
        ('{"a": 1, "b"', "json", "cut off at a key"),
        ('{"a": 1, "bc', "json", "cut off at a key"),
        ('{"b": "', "json", 'invent an empty string ""'),
        ('{"x": "a" "b"}', "json", 'drop the string "b"'),
        ('{"a": NaN}', "json", "NaN/Infinity"),
        ('{"a": Infinity, "b": [1,}', "json", "NaN/Infinity"),
        ("[" * 200_000 + "]" * 200_000, "depth", "nested too deeply"),
    ],
)
def test_nothing_parseable_stays_a_failure(text: str, keyword: str, fragment: str) -> None:
    cand, ladder = first(text)
    assert cand is None
    assert ladder.failure is not None
    assert ladder.failure[0] == keyword
    assert fragment in ladder.failure[1]


def test_unclosed_think_block_is_not_json() -> None:
    cand, ladder = first('<think>I will answer {"a": 1')
    assert cand is None and ladder.failure is not None


def test_no_repair_takes_strict_json_only() -> None:
    assert first('{"a": 1}', repair=False)[0] == Candidate({"a": 1})
    cand, ladder = first('```json\n{"a": 1}\n```', repair=False)
    assert cand is None and ladder.failure is not None
    assert ladder.failure[1].startswith("not JSON:")


def test_several_values_are_candidates_in_order() -> None:
    text = 'The schema was {"type": "object"} and my answer is {"name": "q"}.'
    values = [c.value for c in Ladder(text)]
    assert values == [{"type": "object"}, {"name": "q"}]


def test_json_repair_log_is_kept_as_notes() -> None:
    cand, _ = first('{"a": [1, 2 3')  # a missing comma: beyond the targeted repairs
    assert cand is not None and cand.value == {"a": [1, 2, 3]}
    assert cand.repairs == ("missing_separator", "truncation")
    assert any("closing ]" in note for note in cand.notes)


def test_unclassified_repair_is_named_syntax() -> None:
    cand, _ = first('{"a": "x\\q"}')  # a stray escape: json-repair fixes it, our scan names no kind
    assert cand is not None and cand.repairs == ("syntax",)


def test_parse_strict_rejects_constants_and_extra_data() -> None:
    assert parse_strict(' {"a": 1} ') == {"a": 1}
    with pytest.raises(ValueError, match="NaN"):
        parse_strict("NaN")
    with pytest.raises(ValueError, match="Extra data"):
        parse_strict("1 2")


def test_think_and_fence_helpers() -> None:
    assert strip_think('{"a": "</think>"}') == (None, False)  # a tag inside JSON is left alone
    assert strip_think("<THINK>x</THINK>1")[0] == "1"
    assert unfence("no fence") == (None, False)
    assert unfence("```json\n1\n```") == ("1", False)


def test_huge_garbage_is_reported_not_repaired() -> None:
    cand, ladder = first("{" + "x" * 9_000_000)
    assert cand is None and ladder.failure is not None
    assert ladder.failure[0] == "size"
