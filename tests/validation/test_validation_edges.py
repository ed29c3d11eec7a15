"""Edges of the fast paths: each falls back to jsonschema, never to a wrong verdict or a traceback."""

from __future__ import annotations

import signal
import sys
import time
from typing import Any

import pytest

from difyctl.validation import deadline
from difyctl.validation.deadline import TimeLimitExceeded
from difyctl.validation.engine import Validator, consume
from difyctl.validation.rustpath import blocker, compile_rust
from difyctl.validation.schema import _is_uri, compile_schema


def test_a_lone_surrogate_rust_cannot_take_is_decided_by_jsonschema() -> None:
    validator = Validator(compile_schema({"type": "string", "maxLength": 1}))
    assert validator.validate_value("\ud800").rung == "parsed"  # Rust raises; jsonschema: one character
    line = ['"\\ud800"\n', '"\\ud800\\ud800"\n']  # the batch lane hands these to the full path
    assert [d.rung for d in validator.iter_jsonl(line)] == ["parsed", "invalid"]


def test_a_jsonl_line_with_text_after_its_value_takes_the_full_path() -> None:
    summary = consume(Validator(compile_schema({"type": "object"})).iter_jsonl(['{"a": 1} thanks\n']))
    assert summary.counts["repaired"] == 1 and summary.repairs["surrounding_text"] == 1


def test_time_limit_message_without_a_pattern_lists_the_schemas() -> None:
    validator = Validator(compile_schema({"pattern": "^(a+)+$", "items": {"pattern": "b"}}))
    error = validator._too_slow(TimeLimitExceeded(0.5, None))
    assert error["keyword"] == "timeLimit" and "'^(a+)+$'" in error["message"] and "0.5 s" in error["message"]


def test_an_alarm_outside_a_document_is_ignored_and_an_early_one_rearmed() -> None:
    deadline._on_alarm(signal.SIGVTALRM, None)  # nothing armed: a late alarm is harmless (no raise)
    assert signal.getitimer(signal.ITIMER_VIRTUAL)[0] == 0
    deadline._active.seconds, deadline._active.start, deadline._active.armed = 60.0, time.thread_time(), True
    try:
        deadline._on_alarm(signal.SIGVTALRM, None)  # our thread has used far less than 60 s: no raise
        assert signal.getitimer(signal.ITIMER_VIRTUAL)[0] > 0  # re-armed for the rest
    finally:
        deadline._active.armed = False
        signal.setitimer(signal.ITIMER_VIRTUAL, 0)


def test_rust_is_not_used_where_it_cannot_be(monkeypatch: pytest.MonkeyPatch) -> None:
    assert (
        blocker({}, "Draft3Validator", external=False) == "Draft3Validator is not supported by jsonschema-rs"
    )
    checker = compile_schema({}).validator.format_checker
    monkeypatch.setitem(sys.modules, "jsonschema_rs", None)
    assert compile_rust({}, "Draft202012Validator", checker) == (None, "jsonschema-rs is not installed")
    monkeypatch.delitem(sys.modules, "jsonschema_rs")
    import jsonschema_rs

    def refuse(*_: Any, **__: Any) -> Any:
        raise ValueError("no")

    monkeypatch.setattr(jsonschema_rs, "Draft202012Validator", refuse)
    rust, why = compile_rust({}, "Draft202012Validator", checker)
    assert rust is None and why.startswith("jsonschema-rs refused it (ValueError: no)")


@pytest.mark.parametrize(
    "schema",
    [
        {"dependentSchemas": {"a": {"required": ["b"]}}},
        {"allOf": [{"$id": "https://example.com/s.json", "type": "object"}]},
    ],
)
def test_in_place_applicators_without_a_cycle_compile(schema: dict[str, Any]) -> None:
    validator = Validator(compile_schema(schema))
    assert validator.validate_value({"b": 1}).ok


def test_uri_with_a_broken_ipv6_host_is_not_a_uri() -> None:
    assert _is_uri("http://[x") is False and _is_uri("https://[::1]/a") is True and _is_uri(3) is True


@pytest.mark.parametrize(
    "text",
    ['{"y": 1e400}', '{"y": -1e400}', "{'y': 1e400}", '{"y": 1e400,}', '```json\n{"y": [1e999]}\n```'],
)
def test_a_number_beyond_a_double_is_not_turned_into_infinity(text: str) -> None:
    """json.loads reads 1e400 as inf, and the document would go out as {"y":Infinity}: not JSON, so
    `validate | jq` breaks on a line validate passed. Out-of-range numbers fail like NaN/Infinity."""
    result = Validator(compile_schema({"type": "object"})).validate_text(text)
    assert result.rung == "invalid"
    assert "Infinity" in result.errors[0]["message"]


def test_a_jsonl_line_beyond_a_double_is_invalid_too() -> None:
    validator = Validator(compile_schema({"type": "object"}))
    assert [d.rung for d in validator.iter_jsonl(['{"y": 1e400}\n', '{"y": 1.5}\n'])] == ["invalid", "parsed"]
