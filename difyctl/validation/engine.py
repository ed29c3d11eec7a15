"""The validation engine: one compiled validator, documents in, `DocResult`s out. Never prints or exits.

Rungs, recorded on every document: ``parsed`` (valid as it came), ``repaired`` (valid after the repairs
named in ``repairs``), ``fallback`` (the schema failed or nothing was parseable: the fallback document
stands in, ``errors`` say why), ``invalid``. Batches stream: `iter_jsonl` yields one result per line
and `BatchSummary` keeps counters and a bounded list of samples, so memory stays flat whatever the size.

NaN and Infinity are not JSON (RFC 8259): a document that holds them is rejected (keyword ``json``),
never repaired into null.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, Literal

from referencing.exceptions import Unresolvable

from difyctl.errors import UsageError
from difyctl.exit_codes import ExitCode
from difyctl.validation import deadline
from difyctl.validation.deadline import TimeLimitExceeded, time_limit
from difyctl.validation.inputs import (
    InputError,
    LineTooLong,
    iter_lines,
    open_input,
    read_document,
    write_report,
)
from difyctl.validation.repair import _DECODER, Ladder, parse_strict
from difyctl.validation.schema import CompiledSchema

__all__ = [  # the input helpers are re-exported: the command and run/broadcast need only this module
    "BatchSummary",
    "DocResult",
    "Fallback",
    "InputError",
    "LineTooLong",
    "Validator",
    "check_answer",
    "consume",
    "dump",
    "iter_lines",
    "load_validator",
    "open_input",
    "pick",
    "read_document",
    "write_report",
]

Rung = Literal["parsed", "repaired", "fallback", "invalid"]
RUNGS: tuple[Rung, ...] = ("parsed", "repaired", "fallback", "invalid")
MAX_MESSAGE = 300
_SCAN: Callable[[str, int], tuple[Any, int]] = _DECODER.scan_once  # type: ignore[attr-defined]
RUST_ONLY = "jsonschema-rs found the document invalid but jsonschema lists no error (please report it)"
MAX_RUST_DEPTH = 2_000  # jsonschema-rs recurses natively: 10,000 levels were fine, 50,000 crashed


@dataclass(frozen=True)
class Fallback:
    """The document that stands in for one that failed (already checked against the schema)."""

    value: Any


ErrorList = list[dict[str, str]]
Errors = ErrorList | Callable[[], ErrorList]  # a function: the list, made when first read


@dataclass(slots=True)
class DocResult:
    rung: Rung
    value: Any = None
    repairs: tuple[str, ...] = ()
    pending_errors: Errors = field(default_factory=list)  # read them as `errors`
    line: int | None = None
    fallback_used: bool = False
    notes: tuple[str, ...] = ()  # json-repair's own log, when it was used
    # the document as written, when it was valid as is on one line: written out instead of re-encoded
    source: str | None = field(default=None, compare=False, repr=False)

    @property
    def ok(self) -> bool:
        return self.rung != "invalid"

    @property
    def errors(self) -> ErrorList:
        """{path, keyword, message} for each error; listed by jsonschema when first read (a batch reads
        those of its first failures only, so the others cost nothing beyond their verdict)."""
        if callable(self.pending_errors):
            self.pending_errors = self.pending_errors()
        return self.pending_errors

    def to_dict(self, *, with_value: bool = True) -> dict[str, Any]:
        data: dict[str, Any] = {"line": self.line, "rung": self.rung, "ok": self.ok}
        data.update(repairs=list(self.repairs), errors=list(self.errors), fallback_used=self.fallback_used)
        if self.notes:
            data["notes"] = list(self.notes)
        if with_value:
            data["value"] = self.value
        return data


def _scan_whole(text: str) -> Any:
    """`parse_strict` minus two Python frames, for the batch lane: the decoder's C scanner on a text
    that starts with its value and ends with it (or white space). Raises StopIteration or ValueError
    where the text is not exactly one JSON value; the full path then says why."""
    value, end = _SCAN(text, 0)
    if end != len(text) and not text[end:].isspace():
        raise ValueError("extra data")
    return value


def _deeper_than(value: Any, limit: int) -> bool:
    """Whether containers nest more than `limit` levels (iterative: any depth is measured safely)."""
    stack = [(value, 0)]
    while stack:
        node, depth = stack.pop()
        if depth > limit:
            return True
        if isinstance(node, dict):
            stack.extend((v, depth + 1) for v in node.values())
        elif isinstance(node, list):
            stack.extend((v, depth + 1) for v in node)
    return False


def _error(keyword: str, message: str, path: str = "$") -> dict[str, str]:
    return {"path": path, "keyword": keyword, "message": message}


class Validator:
    """A schema compiled once, plus the repair and fallback policy; validates any number of documents."""

    def __init__(
        self,
        compiled: CompiledSchema,
        *,
        repair: bool = True,
        fallback: Fallback | None = None,
        max_errors: int = 20,
        time_limit: float | None = None,
    ) -> None:
        self.compiled = compiled
        # CPU seconds per document on the Python side (deadline.py); None: the default, read now
        self.time_limit = deadline.DEFAULT_TIME_LIMIT if time_limit is None else time_limit
        self.repair = repair
        self.fallback = fallback
        self.max_errors = max_errors
        self._v = compiled.validator
        self._fast = compiled.fast
        self._rust = compiled.rust

    # -- single documents ---------------------------------------------------------------------------
    def schema_errors(self, value: Any, *, parsed: bool = False) -> Errors:
        """[] when valid; else up to max_errors of {path, keyword, message}, or a function that lists
        them (when the verdict is already certain, the list is made only if it is read).

        The verdict is jsonschema's: jsonschema-rs answers for the valid documents (and for the
        invalid ones too when its verdict is exact for this schema), else the Python fast path accepts;
        the rest go to jsonschema under the CPU time limit. `parsed`: the value came from the JSON
        parser, which refuses nesting deeper than ~1,000 levels; any other value is measured first
        (Rust would overflow its stack where Python raises).
        """
        rust = self._rust
        if rust is not None and (parsed or not _deeper_than(value, MAX_RUST_DEPTH)):
            valid = rust.verdict(value)
            if valid:
                return []
            if valid is False and rust.exact:
                return self._errors_later(value)
        return self._listed(value, accept=self._fast if rust is None else None)

    def _errors_later(self, value: Any) -> Callable[[], ErrorList]:
        """For a verdict already known to be "invalid": jsonschema lists why only if it is asked."""
        return lambda: self._listed(value) or [_error("schema", RUST_ONLY)]

    def _listed(self, value: Any, accept: Callable[[Any], bool] | None = None) -> list[dict[str, str]]:
        """jsonschema's errors (after `accept`, an accept-only predicate), under the CPU time limit."""
        try:
            with time_limit(self.time_limit):
                if accept is not None and accept(value):
                    return []
                if accept is None and self._rust is None and self._v.is_valid(value):
                    return []
                return self._jsonschema_errors(value)
        except TimeLimitExceeded as exc:
            return [self._too_slow(exc)]
        except RecursionError:
            return [_error("depth", "document nested too deeply to validate (recursion limit reached)")]
        except Unresolvable as exc:  # a $ref only met at run time (e.g. through $dynamicRef)
            return [_error("$ref", f"schema reference could not be resolved: {exc}")]

    def _jsonschema_errors(self, value: Any) -> list[dict[str, str]]:
        errors = []
        for err in self._v.iter_errors(value):
            message = err.message if len(err.message) <= MAX_MESSAGE else err.message[:MAX_MESSAGE] + "..."
            errors.append(_error(str(err.validator), message, err.json_path))
            if len(errors) >= self.max_errors:
                break
        return errors

    def _too_slow(self, exc: TimeLimitExceeded) -> dict[str, str]:
        limit = f"over {exc.seconds:g} s of CPU"
        if exc.pattern is not None:
            message = f"pattern {exc.pattern!r} took {limit} on this document (catastrophic backtracking)"
            return _error("pattern", message)
        listed = ", ".join(repr(p) for p in self.compiled.patterns[:5])
        why = f" (the schema's patterns: {listed})" if listed else ""
        return _error("timeLimit", f"validating this document took {limit}{why}")

    def validate_value(
        self,
        value: Any,
        *,
        line: int | None = None,
        repairs: tuple[str, ...] = (),
        notes: tuple[str, ...] = (),
        parsed: bool = False,
    ) -> DocResult:
        errors = self.schema_errors(value, parsed=parsed)
        if errors:
            return self.failed(errors, line=line, repairs=repairs, notes=notes)
        return DocResult("repaired" if repairs else "parsed", value, repairs, [], line, False, notes)

    def validate_text(self, text: str, *, line: int | None = None) -> DocResult:
        """Parse (and repair) an answer, then validate; with several candidates, the first valid one wins."""
        try:  # the common case first: the whole answer is JSON (the ladder's first rung, without it)
            value = parse_strict(text)
        except (ValueError, RecursionError):
            pass
        else:
            result = self.validate_value(value, line=line, parsed=True)
            if result.rung == "parsed" and "\n" not in text and "\r" not in text:
                result.source = text.strip()
            return result
        ladder = Ladder(text, repair=self.repair)
        first: DocResult | None = None
        for cand in ladder:
            result = self.validate_value(
                cand.value, line=line, repairs=cand.repairs, notes=cand.notes, parsed=True
            )
            if result.rung in ("parsed", "repaired"):
                return result
            first = first or result
        if first is not None:
            return first
        keyword, message = ladder.failure or ("json", "no JSON value found")
        return self.failed([_error(keyword, message)], line=line)

    def validate_record(self, record: str, field: str, *, line: int | None = None) -> DocResult:
        """A JSON record (a line of `broadcast --jsonl`), of which `field` holds the answer to check."""
        try:
            data = parse_strict(record)
        except ValueError as exc:  # NaN/Infinity included (NonFiniteError)
            return self.failed([_error("json", f"record is not JSON: {exc}")], line=line)
        except RecursionError:
            return self.failed(
                [_error("depth", "record nested too deeply (recursion limit reached)")], line=line
            )
        if type(data) is dict and "." not in field:  # the common case, without `pick`
            answer = data.get(field)
            if type(answer) is str:
                return self.validate_text(answer, line=line)
        return self.check_picked(data, field, line=line, parsed=True)

    def check_picked(
        self, data: Any, field: str | None, *, line: int | None = None, parsed: bool = False
    ) -> DocResult:
        if field:
            found, value = pick(data, field)
            if not found:
                return self.failed([_error("field", value)], line=line)
        else:
            value = data
        if isinstance(value, str):
            return self.validate_text(value, line=line)
        if value is None:
            return self.failed([_error("field", f"field {field!r} is null")], line=line)
        return self.validate_value(value, line=line, parsed=parsed)

    def failed(
        self,
        errors: Errors,
        *,
        line: int | None = None,
        repairs: tuple[str, ...] = (),
        notes: tuple[str, ...] = (),
    ) -> DocResult:
        if self.fallback is not None:
            return DocResult("fallback", self.fallback.value, repairs, errors, line, True, notes)
        return DocResult("invalid", None, repairs, errors, line, False, notes)

    # -- batches ------------------------------------------------------------------------------------
    def iter_jsonl(
        self, lines: Iterable[bytes | str | LineTooLong], *, field: str | None = None, start: int = 1
    ) -> Iterator[DocResult]:
        """One result per non-blank line; a bad line is a failed document, never the end of the batch."""
        rust_lane = self._rust is not None and (not field or "." not in field)
        for number, raw in enumerate(lines, start):
            if isinstance(raw, LineTooLong):
                yield self.failed(
                    [_error("size", f"line is {raw.size} bytes, over {raw.limit}")], line=number
                )
                continue
            if isinstance(raw, bytes):
                try:
                    text = raw.decode("utf-8")
                except UnicodeDecodeError as exc:
                    yield self.failed(
                        [_error("utf-8", f"line is not UTF-8 text (byte {exc.start})")], line=number
                    )
                    continue
            else:
                text = raw
            if not text or text.isspace():
                continue
            quick = self._quick_line(text, field, number) if rust_lane else None
            if quick is not None:
                yield quick
            elif "\x00" in text:
                yield self.failed(
                    [_error("binary", "line holds NUL bytes: binary data, not text")], line=number
                )
            elif field:
                yield self.validate_record(text, field, line=number)
            else:
                yield self.validate_text(text, line=number)

    def _quick_line(self, text: str, field: str | None, line: int) -> DocResult | None:
        """The common line in one step (a batch is mostly these): a record whose `field` holds a JSON
        text, or a JSON line, that jsonschema-rs accepts as it is. None: the full path decides."""
        try:
            if field:
                data = _scan_whole(text)
                answer = data.get(field) if type(data) is dict else None
                if type(answer) is not str:
                    return None
            else:
                answer = text
            value = _scan_whole(answer)
        except (StopIteration, ValueError, RecursionError):
            return None
        rust = self._rust
        valid = rust.verdict(value)  # type: ignore[union-attr]  # (rust_lane: never None here)
        if not valid:
            if valid is False and rust.exact:  # type: ignore[union-attr]
                return self.failed(self._errors_later(value), line=line)
            return None  # jsonschema decides
        one_line = "\n" not in answer and "\r" not in answer
        return DocResult("parsed", value, (), [], line, False, (), answer.strip() if one_line else None)

    def iter_stream(
        self, stream: IO[bytes], *, jsonl: bool = False, field: str | None = None
    ) -> Iterator[DocResult]:
        """A whole input: one document (text, or a record with `field`), or JSONL streamed line by line."""
        if jsonl:
            yield from self.iter_jsonl(iter_lines(stream), field=field)
            return
        text = read_document(stream)
        yield self.validate_record(text, field) if field else self.validate_text(text)


def check_answer(validator: Validator, answer: str | dict[str, Any], field: str | None = None) -> DocResult:
    """For `run`/`broadcast --schema`: a chat answer (text), or workflow outputs (a dict or one field)."""
    if isinstance(answer, str) and not field:
        return validator.validate_text(answer)
    return validator.check_picked(answer, field)


def pick(data: Any, path: str) -> tuple[bool, Any]:
    """(True, value) at a dotted path (`data.outputs.text`, `items.0`), else (False, why)."""
    node = data
    for i, part in enumerate(path.split(".")):
        if isinstance(node, dict) and part in node:
            node = node[part]
        elif isinstance(node, list) and part.isdigit() and int(part) < len(node):
            node = node[int(part)]
        else:
            where = ".".join(path.split(".")[:i]) or "the record"
            why = f"no field {path!r} (missing {part!r} in {where})"
            if i == 0 and isinstance(data, dict) and data.get("ok") is False:
                err = data.get("error")
                detail = err.get("message") if isinstance(err, dict) else err
                why += f"; the run failed: {detail}"
            return False, why
    return True, node


# -- summary ----------------------------------------------------------------------------------------
@dataclass
class BatchSummary:
    """Counters per rung and repair kind, plus bounded samples (failures first): flat memory."""

    max_error_samples: int = 100
    max_repair_samples: int = 20
    counts: dict[str, int] = field(default_factory=lambda: dict.fromkeys(RUNGS, 0))
    repairs: Counter[str] = field(default_factory=Counter)
    error_samples: list[DocResult] = field(default_factory=list)
    repair_samples: list[DocResult] = field(default_factory=list)

    def add(self, doc: DocResult) -> None:
        rung = doc.rung
        self.counts[rung] += 1
        if rung == "parsed":
            return
        self.repairs.update(doc.repairs)
        if rung in ("invalid", "fallback"):
            if len(self.error_samples) < self.max_error_samples:
                self.error_samples.append(_light(doc))
        elif rung == "repaired" and len(self.repair_samples) < self.max_repair_samples:
            self.repair_samples.append(_light(doc))

    @property
    def total(self) -> int:
        return sum(self.counts.values())

    @property
    def failed(self) -> int:
        return self.counts["invalid"] + self.counts["fallback"]

    @property
    def exit_code(self) -> ExitCode:
        return ExitCode.FAILED if self.counts["invalid"] else ExitCode.OK

    def samples(self) -> list[DocResult]:
        return sorted(self.error_samples + self.repair_samples, key=lambda d: d.line or 0)

    def to_dict(self) -> dict[str, Any]:
        return {
            "status": "fail" if self.counts["invalid"] else "ok",
            "summary": {"total": self.total, **self.counts},
            "repairs": dict(sorted(self.repairs.items())),
            "documents": [d.to_dict(with_value=False) for d in self.samples()],
            "documents_omitted": self.failed
            - len(self.error_samples)
            + self.counts["repaired"]
            - len(self.repair_samples),
        }


def _light(doc: DocResult) -> DocResult:
    """A sample without its (possibly large) value."""
    return DocResult(doc.rung, None, doc.repairs, doc.errors, doc.line, doc.fallback_used, doc.notes)


def dump(value: Any) -> str:
    """One compact JSON line (UTF-8 kept readable; ASCII escapes if the value holds lone surrogates)."""
    text = _ENCODE(value)
    if not text.isascii():
        try:
            text.encode("utf-8")
        except UnicodeEncodeError:
            text = json.dumps(value, separators=(",", ":"))
    return text


_ENCODE = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode


def consume(
    results: Iterable[DocResult],
    write: Callable[[str], object] | None = None,
    summary: BatchSummary | None = None,
    each: Callable[[DocResult], object] | None = None,
) -> BatchSummary:
    """Drain results into a summary, handing each usable document (as one JSON line) to `write`, and
    every result to `each`."""
    summary = summary or BatchSummary()
    for doc in results:
        summary.add(doc)
        if each is not None:
            each(doc)
        if write is not None and doc.rung != "invalid":
            write(dump(doc.value) if doc.source is None else doc.source)
    return summary


def validator_option(
    schema: str | Path | None, *, fallback: str | Path | None = None, **needs_schema: object
) -> Validator | None:
    """`--schema` on `run`/`broadcast`: compiled before anything is sent (a bad schema is exit 2 with
    nothing spent). `needs_schema` maps the other flags to their values: given without --schema
    they are a usage error rather than silently ignored."""
    if schema is not None:
        return load_validator(schema, fallback=fallback)
    given = [f"--{name.replace('_', '-')}" for name, value in needs_schema.items() if value]
    if fallback is not None:
        given.append("--fallback")
    if given:
        raise UsageError(f"{', '.join(given)} only make{'s' if len(given) == 1 else ''} sense with --schema")
    return None


def load_validator(
    schema: str | Path,
    *,
    fallback: str | Path | None = None,
    repair: bool = True,
    time_limit: float | None = None,
) -> Validator:
    """Schema file (+ optional fallback file) -> a Validator compiled once: for `run`/`broadcast --schema`."""
    from difyctl.validation.schema import load_fallback, load_schema

    compiled = load_schema(Path(schema))
    stand_in = Fallback(load_fallback(Path(fallback), compiled)) if fallback is not None else None
    return Validator(compiled, repair=repair, fallback=stand_in, time_limit=time_limit)
