"""jsonschema-rs as an accept-only check: a verdict of "valid" from Rust, errors still from jsonschema.

jsonschema-rs (a Rust validator with abi3 wheels) is ~5x faster than even the fast path of
`fastpath.py`, and its regex engine cannot backtrack catastrophically. It is used only one way:
``rust(value) is True`` means jsonschema would accept ``value`` too; on False the engine asks
jsonschema, whose verdict and error list (path, keyword, message) stand. So a disagreement can only
cost time, never change a verdict, provided Rust is never *more lenient* than jsonschema. Where it can
be, the schema gets no Rust check at all (the reason is shown under ``--verbose``):

- ``multipleOf``: jsonschema divides floats (``0.3`` is not a multiple of ``0.1``), jsonschema-rs
  does exact arithmetic (it is);
- a ``pattern``/``patternProperties`` regex using a construct whose meaning differs between Python's
  ``re`` and the ECMA-262 dialect jsonschema-rs implements: negated classes (``\\D``, ``\\W``,
  ``\\S``, ``[^\\d]``), ``\\s`` (ECMA's takes U+FEFF, Python's does not), ``\\b``, group extensions
  ``(?...)``, back-references, POSIX classes; plain ``\\d``/``\\w`` are ASCII in ECMA and Unicode in
  Python and ``$`` does not match before a final newline in ECMA, so a pattern is only stricter in
  Rust, which is safe only where a stricter match means a stricter verdict;
- so any regex together with a keyword that turns a match around (``not``, ``if``, ``oneOf``,
  ``maxContains``), and any ``patternProperties`` (which keys a subschema applies to, and which are
  "additional", changes with the match in both directions);
- ``$ref`` to other files (jsonschema resolves them through difyctl's file retriever);
- draft 3 (jsonschema-rs has no draft 3).

Formats are asserted by Python callbacks: the same `FormatChecker` functions jsonschema uses.
Rust errors (a string with lone surrogates, a number it cannot represent) count as "not accepted".
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, cast

_DRAFTS = frozenset(  # jsonschema's class names, which jsonschema-rs shares
    {"Draft4Validator", "Draft6Validator", "Draft7Validator", "Draft201909Validator", "Draft202012Validator"}
)
_DATA_KEYWORDS = frozenset({"const", "enum", "examples", "default"})
_SAFE_ESCAPES = frozenset("dwntrf")  # beside escaped punctuation
_NEGATED_CLASS = re.compile(r"\[\^[^\]]*\\[dws]")
_NEGATING = ("not", "if", "oneOf", "maxContains")  # a stricter match can make these more lenient


def pattern_blocker(pattern: str) -> str | None:
    """Why a regex may match differently under jsonschema-rs than under `re` (None: only stricter)."""
    if "(?" in pattern:
        return "a group extension (?...)"
    if "[:" in pattern:
        return "a POSIX class"
    if _NEGATED_CLASS.search(pattern):
        return "a negated class holding \\d, \\w or \\s"
    for i, ch in enumerate(pattern):
        if ch == "\\" and i + 1 < len(pattern):
            nxt = pattern[i + 1]
            if nxt.isalnum() and nxt not in _SAFE_ESCAPES:
                return f"the escape \\{nxt}"
    return None


def _schema_nodes(schema: Any) -> Iterator[dict[str, Any]]:
    stack = [schema]
    while stack:
        node = stack.pop()
        if isinstance(node, list):
            stack.extend(node)
        elif isinstance(node, dict):
            yield node
            stack.extend(v for k, v in node.items() if k not in _DATA_KEYWORDS)


def blocker(schema: Any, draft: str, *, external: bool) -> str | None:
    """Why jsonschema-rs could accept a document jsonschema rejects, for this schema (None: it cannot)."""
    if draft not in _DRAFTS:
        return f"{draft} is not supported by jsonschema-rs"
    if external:
        return "$ref to other files"
    has_pattern = negating = False
    for node in _schema_nodes(schema):
        negating = negating or any(key in node for key in _NEGATING)
        if "patternProperties" in node:
            return "patternProperties (Rust's regexes may pick other keys than Python's re)"
        if "multipleOf" in node:
            return "multipleOf (jsonschema-rs divides numbers exactly, jsonschema in floating point)"
        patterns = [node["pattern"]] if isinstance(node.get("pattern"), str) else []
        if isinstance(node.get("patternProperties"), dict):
            patterns.extend(node["patternProperties"])
        for pattern in patterns:
            has_pattern = True
            why = pattern_blocker(pattern)
            if why:
                return f"pattern {pattern!r} uses {why}, which Python's re reads differently"
    if has_pattern and negating:
        return "a pattern under not/if/oneOf/maxContains (Rust's stricter regexes could accept more)"
    return None


# the formats jsonschema-rs knows: those jsonschema's checker lacks are stubbed to pass, as in jsonschema
_RUST_FORMATS = (
    "date", "date-time", "time", "duration", "email", "idn-email", "hostname", "idn-hostname", "ipv4", "ipv6",
    "uri", "uri-reference", "iri", "iri-reference", "uuid", "uri-template", "json-pointer",
    "relative-json-pointer", "regex",
)  # fmt: skip
_NOT_EXACT = ("pattern", "patternProperties", "contentEncoding", "contentMediaType", "contentSchema")


@dataclass(frozen=True)
class RustCheck:
    verdict: Callable[[Any], bool | None]  # is_valid, or None when Rust cannot take the value
    # True when Rust's "invalid" is jsonschema's too: no regex (Rust's is stricter: `$`, ASCII `\d`)
    # and no content* keyword (asserted by Rust in draft 7, not by jsonschema); formats are the same
    # Python functions. Then jsonschema is asked only for the error list, and only when it is read.
    exact: bool


def compile_rust(
    schema: Any, draft: str, format_checker: Any, *, external: bool = False
) -> tuple[RustCheck | None, str]:
    """(the check, "") or (None, why not)."""
    why = blocker(schema, draft, external=external)
    if why:
        return None, why
    try:
        import jsonschema_rs
    except ImportError:
        return None, "jsonschema-rs is not installed"
    formats: dict[str, Callable[[str], bool]] = dict.fromkeys(_RUST_FORMATS, _passes)
    formats.update({str(name): _format(format_checker, name) for name in format_checker.checkers})
    try:
        validator = getattr(jsonschema_rs, draft)(
            schema, formats=formats, validate_formats=True, offline=True
        )
    except Exception as exc:  # a schema Rust refuses (jsonschema accepted it): jsonschema alone
        return None, f"jsonschema-rs refused it ({type(exc).__name__}: {str(exc)[:120]})"
    is_valid = validator.is_valid

    def verdict(value: Any) -> bool | None:
        try:
            return bool(is_valid(value))
        except Exception:  # lone surrogates, a number Rust cannot hold...: jsonschema decides
            return None

    exact = not any(key in node for node in _schema_nodes(schema) for key in _NOT_EXACT)
    return RustCheck(verdict, exact), ""


def _passes(_: str) -> bool:
    return True


def _format(checker: Any, name: str) -> Callable[[str], bool]:
    """jsonschema's own format function for `name`, called as FormatChecker.conforms would."""
    func, raises = checker.checkers[name]
    if not raises:
        return cast(Callable[[str], bool], func)  # Rust takes its result's truth: no wrapper needed

    def check(value: str) -> bool:
        try:
            return bool(func(value))
        except raises:
            return False

    return check
