"""The engine: rungs, errors, fallback, JSONL batches, bad lines, bounded summaries, check_answer."""

from __future__ import annotations

import io
import json
import tracemalloc
from collections.abc import Iterator
from pathlib import Path

import jsonschema  # type: ignore[import-untyped]
import pytest

from difyctl.validation.engine import (
    BatchSummary,
    DocResult,
    Fallback,
    InputError,
    LineTooLong,
    Validator,
    check_answer,
    consume,
    dump,
    iter_lines,
    load_validator,
    pick,
    read_document,
)
from difyctl.validation.schema import compile_schema

GOOD = {"name": "Ada", "status": "ok"}


def test_rungs(person_validator: Validator) -> None:
    v = person_validator
    assert v.validate_text(json.dumps(GOOD)).rung == "parsed"
    fenced = v.validate_text("```json\n" + json.dumps(GOOD) + "\n```")
    assert (fenced.rung, fenced.value, fenced.repairs) == ("repaired", GOOD, ("code_fence",))
    bad = v.validate_text('{"name": 3, "status": "maybe", "extra": 1}')
    assert bad.rung == "invalid" and bad.value is None and not bad.ok
    assert {(e["path"], e["keyword"]) for e in bad.errors} == {
        ("$.name", "type"),
        ("$.status", "enum"),
        ("$", "additionalProperties"),
    }


def test_format_errors_have_path_keyword_message(person_validator: Validator) -> None:
    doc = person_validator.validate_value({**GOOD, "email": "nope", "when": "soon", "tags": ["a", 1]})
    by_path = {e["path"]: e for e in doc.errors}
    assert by_path["$.email"]["keyword"] == "format" and "email" in by_path["$.email"]["message"]
    assert by_path["$.when"]["keyword"] == "format"
    assert by_path["$.tags[1]"]["keyword"] == "type"


def test_first_valid_candidate_wins_over_an_echoed_schema(person_validator: Validator) -> None:
    text = "Schema: " + json.dumps(person_validator.compiled.schema) + "\nAnswer: " + json.dumps(GOOD)
    doc = person_validator.validate_text(text)
    assert doc.rung == "repaired" and doc.value == GOOD


def test_errors_are_bounded() -> None:
    schema = {"type": "array", "items": {"type": "string"}}
    doc = Validator(compile_schema(schema), max_errors=5).validate_value(list(range(100)))
    assert len(doc.errors) == 5


def test_fallback_stands_in_and_keeps_the_reasons(person_validator: Validator) -> None:
    v = Validator(person_validator.compiled, fallback=Fallback({"name": "?", "status": "error"}))
    doc = v.validate_text("Sorry, I can't do that.")
    assert doc.rung == "fallback" and doc.fallback_used and doc.ok
    assert doc.value == {"name": "?", "status": "error"}
    assert doc.errors[0]["keyword"] == "json"


def test_no_repair(person_validator: Validator) -> None:
    v = Validator(person_validator.compiled, repair=False)
    doc = v.validate_text("```json\n" + json.dumps(GOOD) + "\n```")
    assert doc.rung == "invalid" and doc.errors[0]["message"].startswith("not JSON")


def test_nan_is_rejected_not_repaired(person_validator: Validator) -> None:
    doc = person_validator.validate_text('{"name": "x", "status": "ok", "age": NaN}')
    assert doc.rung == "invalid" and "NaN" in doc.errors[0]["message"]


def test_deep_nesting_is_reported(person_validator: Validator) -> None:
    deep = "[" * 100_000 + "]" * 100_000
    doc = person_validator.validate_text(deep)
    assert doc.rung == "invalid" and doc.errors[0]["keyword"] == "depth"
    nested: list[object] = []
    node = nested
    for _ in range(50_000):  # built without the parser: the validator itself must not blow up
        child: list[object] = []
        node.append(child)
        node = child
    v = Validator(
        compile_schema(
            {"$ref": "#/$defs/n", "$defs": {"n": {"type": "array", "items": {"$ref": "#/$defs/n"}}}}
        )
    )
    assert v.validate_value(nested).errors[0]["keyword"] == "depth"


def test_iter_jsonl_continues_past_bad_lines(person_validator: Validator) -> None:
    lines: list[bytes | str | LineTooLong] = [
        json.dumps({"answer": json.dumps(GOOD)}).encode() + b"\n",
        b"\n",
        b"\xff\xfe broken utf-8\n",
        b"not a record\n",
        json.dumps({"answer": "```json\n" + json.dumps(GOOD) + "\n```"}).encode() + b"\r\n",
        b'{"ok": false, "error": {"code": "timeout", "message": "timed out"}}\n',
        b"\x00\x01\x02\n",
        LineTooLong(10_000, 100),
        json.dumps({"answer": GOOD}).encode(),
    ]
    docs = list(person_validator.iter_jsonl(lines, field="answer"))
    assert [(d.line, d.rung) for d in docs] == [
        (1, "parsed"),
        (3, "invalid"),
        (4, "invalid"),
        (5, "repaired"),
        (6, "invalid"),
        (7, "invalid"),
        (8, "invalid"),
        (9, "parsed"),
    ]
    kinds = [d.errors[0]["keyword"] for d in docs if not d.ok]
    assert kinds == ["utf-8", "json", "field", "binary", "size"]
    assert "the run failed: timed out" in docs[4].errors[0]["message"]


def test_broadcast_records_with_outputs(person_validator: Validator) -> None:
    record = {"app": "a", "name": "A", "mode": "workflow", "ok": True, "outputs": {"text": json.dumps(GOOD)}}
    doc = person_validator.validate_record(json.dumps(record), "outputs.text", line=1)
    assert doc.rung == "parsed" and doc.value == GOOD
    missing = person_validator.validate_record(json.dumps(record), "data.outputs.text")
    assert missing.errors[0]["message"] == "no field 'data.outputs.text' (missing 'data' in the record)"


def test_pick() -> None:
    assert pick({"a": [{"b": 1}]}, "a.0.b") == (True, 1)
    assert pick({"a": []}, "a.0")[0] is False
    assert pick({"a": None}, "a") == (True, None)


def test_check_answer_for_chat_and_workflow(person_validator: Validator) -> None:
    assert check_answer(person_validator, "Here: " + json.dumps(GOOD)).rung == "repaired"
    assert check_answer(person_validator, GOOD).rung == "parsed"
    assert check_answer(person_validator, {"text": json.dumps(GOOD)}, "text").rung == "parsed"
    assert check_answer(person_validator, {"text": None}, "text").rung == "invalid"
    assert check_answer(person_validator, {"result": GOOD}, "result").value == GOOD


def test_doc_result_to_dict() -> None:
    doc = DocResult("repaired", {"a": 1}, ("code_fence",), [], 3, False, ("note",))
    assert doc.to_dict() == {
        "line": 3,
        "rung": "repaired",
        "ok": True,
        "repairs": ["code_fence"],
        "errors": [],
        "fallback_used": False,
        "notes": ["note"],
        "value": {"a": 1},
    }
    assert "value" not in doc.to_dict(with_value=False)


def test_summary_is_bounded_and_counts(person_validator: Validator) -> None:
    summary = BatchSummary(max_error_samples=3, max_repair_samples=2)
    written: list[str] = []
    texts = ["nope"] * 10 + ["```json\n" + json.dumps(GOOD) + "\n```"] * 10 + [json.dumps(GOOD)] * 5
    results = (person_validator.validate_text(t, line=i) for i, t in enumerate(texts, 1))
    consume(results, written.append, summary)
    assert summary.counts == {"parsed": 5, "repaired": 10, "fallback": 0, "invalid": 10}
    assert summary.total == 25 and summary.exit_code == 1
    assert len(summary.error_samples) == 3 and len(summary.repair_samples) == 2
    assert all(s.value is None for s in summary.samples())
    data = summary.to_dict()
    assert (
        data["status"] == "fail" and data["documents_omitted"] == 15 and data["repairs"] == {"code_fence": 10}
    )
    assert len(written) == 15 and json.loads(written[0]) == GOOD


def _peak_bytes(validator: Validator, n: int) -> int:
    def lines() -> Iterator[bytes]:
        for i in range(n):
            body = json.dumps({"name": f"user {i}", "status": "ok" if i % 7 else "bad"})
            yield (json.dumps({"answer": body if i % 3 else "```json\n" + body + "\n```"}) + "\n").encode()

    tracemalloc.start()
    try:
        summary = consume(validator.iter_jsonl(lines(), field="answer"), lambda _: None)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert summary.total == n
    return peak


def test_memory_stays_flat_over_a_large_batch(person_validator: Validator) -> None:
    _peak_bytes(person_validator, 50)  # warm up caches (regexes, json-repair, jsonschema)
    small, large = _peak_bytes(person_validator, 300), _peak_bytes(person_validator, 3000)
    assert large < small * 1.5 + 100_000  # counters and bounded samples, never the results


def test_validator_is_compiled_once(monkeypatch: pytest.MonkeyPatch, person_validator: Validator) -> None:
    v = person_validator

    def boom(*args: object, **kwargs: object) -> None:
        raise AssertionError("the schema must not be checked or compiled per document")

    monkeypatch.setattr(jsonschema.Draft202012Validator, "check_schema", boom)
    for _ in range(50):
        assert v.validate_text(json.dumps(GOOD)).ok


def test_iter_lines_caps_long_lines() -> None:
    stream = io.BytesIO(b"short\n" + b"x" * 5000 + b"\nafter\nlast")
    out = list(iter_lines(stream, max_bytes=100))
    assert out == [b"short\n", LineTooLong(5001, 100), b"after\n", b"last"]


@pytest.mark.parametrize(
    ("data", "fragment"),
    [
        (b"", "empty"),
        (b"  \n\t", "empty"),
        (b"abc\x00def", "binary (NUL byte at offset 3)"),
        (b'{"a": "\xc3\x28"}', "not UTF-8 text (invalid byte at offset 7)"),
    ],
)
def test_read_document_rejects_unusable_input(data: bytes, fragment: str) -> None:
    with pytest.raises(InputError) as info:
        read_document(io.BytesIO(data))
    assert fragment in info.value.message


def test_read_document_strips_bom() -> None:
    assert read_document(io.BytesIO("\ufeff{}".encode())) == "{}"


def test_dump_is_one_compact_line() -> None:
    assert dump({"a": "é\n"}) == '{"a":"é\\n"}'
    assert dump({"a": "\ud800"}) == '{"a":"\\ud800"}'  # a lone surrogate cannot be written as UTF-8


def test_load_validator_for_run_and_broadcast(tmp_path: Path) -> None:
    schema = tmp_path / "s.yaml"
    schema.write_text("type: object\nrequired: [answer]\n", encoding="utf-8")
    fallback = tmp_path / "f.json"
    fallback.write_text('{"answer": "n/a"}', encoding="utf-8")
    v = load_validator(schema, fallback=fallback)
    assert check_answer(v, '```json\n{"answer": 42}\n```').rung == "repaired"
    assert check_answer(v, {"text": "no json"}, "text").value == {"answer": "n/a"}
