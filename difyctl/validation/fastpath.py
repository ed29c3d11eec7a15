"""An accept-only fast path: the common subset of JSON Schema compiled to plain Python predicates.

jsonschema walks a schema by re-creating a validator for every subschema it descends into (``evolve``),
which costs ~80 % of the time on a realistic batch. For schemas that use only the keywords below, this
module compiles one closure per subschema instead. Its contract is one-sided and easy to keep:
``fast(value) is True`` only when jsonschema would accept ``value``; on False the engine asks jsonschema
(which then also supplies the errors with their paths). Every supported keyword is implemented with
jsonschema's own semantics (its type rules for drafts 6 and later, its ``equal``/``uniq``, the same
FormatChecker, ``re.search``); a schema with any other assertion keyword gets no fast path at all, and
a property test compares both validators on generated documents.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from numbers import Number
from typing import Any

Check = Callable[[Any], bool]


class _Unsupported(Exception):
    pass


_TYPES: dict[str, Check] = {
    "object": lambda x: isinstance(x, dict),
    "array": lambda x: isinstance(x, list),
    "string": lambda x: isinstance(x, str),
    "null": lambda x: x is None,
    "boolean": lambda x: isinstance(x, bool),
    "number": lambda x: isinstance(x, Number) and not isinstance(x, bool),
    "integer": lambda x: (
        (isinstance(x, int) and not isinstance(x, bool)) or (isinstance(x, float) and x.is_integer())
    ),
}
_DRAFTS = ("Draft6Validator", "Draft7Validator", "Draft201909Validator", "Draft202012Validator")
# keywords that never assert anything (annotations, containers of subschemas reached only through $ref)
_IGNORED = frozenset(
    {"$schema", "$id", "$comment", "$defs", "definitions", "title", "description", "default", "examples"}
    | {"deprecated", "readOnly", "writeOnly", "contentMediaType", "contentEncoding", "contentSchema"}
)


def compile_fast(schema: Any, validator_cls: type, format_checker: Any) -> Check | None:
    """The fast predicate for `schema`, or None when it uses anything not supported here."""
    if validator_cls.__name__ not in _DRAFTS:
        return None
    try:
        from jsonschema._utils import equal, uniq  # type: ignore[import-untyped]
    except ImportError:  # pragma: no cover - private helpers moved: simply no fast path
        return None
    known = frozenset(getattr(validator_cls, "VALIDATORS", {}))
    ref_alone = validator_cls.__name__ in ("Draft6Validator", "Draft7Validator")  # $ref hides its siblings
    compiler = _Compiler(schema, known, format_checker, equal, uniq, ref_alone)
    try:
        return compiler.compile(schema)
    except (_Unsupported, re.error, LookupError, TypeError, ValueError, RecursionError):
        return None


class _Compiler:
    def __init__(
        self, root: Any, known: frozenset[str], formats: Any, equal: Any, uniq: Any, ref_alone: bool
    ) -> None:
        self.root = root
        self.ref_alone = ref_alone
        self.known = known
        self.formats = formats
        self.equal = equal
        self.uniq = uniq
        self.cache: dict[int, list[Check]] = {}

    def compile(self, schema: Any) -> Check:
        if schema is True:
            return _true
        if schema is False:
            return _false
        if not isinstance(schema, dict) or ("$id" in schema and schema is not self.root):
            raise _Unsupported("a nested $id changes how $ref resolves")
        key = id(schema)
        if key in self.cache:  # recursive schemas: late-bound through a one-slot cell
            cell = self.cache[key]
            return lambda x: cell[0](x)
        cell = [_false]
        self.cache[key] = cell
        items = [("$ref", schema["$ref"])] if self.ref_alone and "$ref" in schema else schema.items()
        checks = [c for c in (self._keyword(k, v, schema) for k, v in items) if c is not None]
        cell[0] = _all(checks)
        return cell[0]

    def _keyword(self, key: str, value: Any, schema: dict[str, Any]) -> Check | None:
        if key in _IGNORED or (key not in self.known and key != "$ref"):
            return None  # jsonschema ignores unknown keywords too
        handler = getattr(self, "_kw_" + key.lstrip("$"), None)
        if handler is None:
            raise _Unsupported(key)
        result: Check = handler(value, schema)
        return result

    # -- keywords -----------------------------------------------------------------------------------
    def _kw_type(self, value: Any, _: dict[str, Any]) -> Check:
        names = [value] if isinstance(value, str) else list(value)
        preds = [_TYPES[n] for n in names]
        return preds[0] if len(preds) == 1 else (lambda x: any(p(x) for p in preds))

    def _kw_enum(self, value: Any, _: dict[str, Any]) -> Check:
        options, equal = list(value), self.equal
        if all(isinstance(o, str) for o in options):
            strings = frozenset(options)
            return lambda x: isinstance(x, str) and x in strings
        return lambda x: any(equal(o, x) for o in options)

    def _kw_const(self, value: Any, _: dict[str, Any]) -> Check:
        equal = self.equal
        return lambda x: bool(equal(x, value))

    def _kw_properties(self, value: dict[str, Any], _: dict[str, Any]) -> Check:
        props = [(name, self.compile(sub)) for name, sub in value.items()]
        return lambda x: not isinstance(x, dict) or all(name not in x or f(x[name]) for name, f in props)

    def _kw_required(self, value: list[str], _: dict[str, Any]) -> Check:
        names = list(value)
        return lambda x: not isinstance(x, dict) or all(n in x for n in names)

    def _kw_additionalProperties(self, value: Any, schema: dict[str, Any]) -> Check:
        if "patternProperties" in schema:
            raise _Unsupported("patternProperties")
        declared = frozenset(schema.get("properties", {}))
        if value is False:
            return lambda x: not isinstance(x, dict) or declared.issuperset(x)
        extra = self.compile(value)
        return lambda x: not isinstance(x, dict) or all(extra(x[k]) for k in x if k not in declared)

    def _kw_items(self, value: Any, schema: dict[str, Any]) -> Check:
        if "prefixItems" in schema or isinstance(value, list):
            raise _Unsupported("tuple items")
        item = self.compile(value)
        return lambda x: not isinstance(x, list) or all(item(v) for v in x)

    def _kw_minItems(self, value: int, _: dict[str, Any]) -> Check:
        return lambda x: not isinstance(x, list) or len(x) >= value

    def _kw_maxItems(self, value: int, _: dict[str, Any]) -> Check:
        return lambda x: not isinstance(x, list) or len(x) <= value

    def _kw_uniqueItems(self, value: bool, _: dict[str, Any]) -> Check | None:
        uniq = self.uniq
        return (lambda x: not isinstance(x, list) or bool(uniq(x))) if value else None

    def _kw_minLength(self, value: int, _: dict[str, Any]) -> Check:
        return lambda x: not isinstance(x, str) or len(x) >= value

    def _kw_maxLength(self, value: int, _: dict[str, Any]) -> Check:
        return lambda x: not isinstance(x, str) or len(x) <= value

    def _kw_pattern(self, value: str, _: dict[str, Any]) -> Check:
        re.compile(value)  # a bad pattern: no fast path (jsonschema reports it)
        return lambda x: not isinstance(x, str) or re.search(value, x) is not None

    def _kw_format(self, value: str, _: dict[str, Any]) -> Check | None:
        checker = self.formats
        return None if checker is None else (lambda x: bool(checker.conforms(x, value)))

    def _kw_minimum(self, value: Any, _: dict[str, Any]) -> Check:
        return lambda x: not _number(x) or x >= value

    def _kw_maximum(self, value: Any, _: dict[str, Any]) -> Check:
        return lambda x: not _number(x) or x <= value

    def _kw_exclusiveMinimum(self, value: Any, _: dict[str, Any]) -> Check:
        if isinstance(value, bool):
            raise _Unsupported("draft-4 exclusiveMinimum")
        return lambda x: not _number(x) or x > value

    def _kw_exclusiveMaximum(self, value: Any, _: dict[str, Any]) -> Check:
        if isinstance(value, bool):
            raise _Unsupported("draft-4 exclusiveMaximum")
        return lambda x: not _number(x) or x < value

    def _kw_allOf(self, value: list[Any], _: dict[str, Any]) -> Check:
        return _all([self.compile(s) for s in value])

    def _kw_anyOf(self, value: list[Any], _: dict[str, Any]) -> Check:
        subs = [self.compile(s) for s in value]
        return lambda x: any(f(x) for f in subs)

    def _kw_oneOf(self, value: list[Any], _: dict[str, Any]) -> Check:
        subs = [self.compile(s) for s in value]
        return lambda x: sum(1 for f in subs if f(x)) == 1

    def _kw_ref(self, value: str, _: dict[str, Any]) -> Check:
        if not (value == "#" or value.startswith("#/")):
            raise _Unsupported("$ref to another document or an anchor")
        node = self.root
        for part in value[1:].lstrip("/").split("/") if value != "#" else []:
            part = part.replace("~1", "/").replace("~0", "~")
            node = node[int(part)] if isinstance(node, list) else node[part]
        return self.compile(node)


def _number(x: Any) -> bool:
    return isinstance(x, Number) and not isinstance(x, bool)


def _true(_: Any) -> bool:
    return True


def _false(_: Any) -> bool:
    return False


def _all(checks: list[Check]) -> Check:
    if not checks:
        return _true
    if len(checks) == 1:
        return checks[0]
    return lambda x: all(c(x) for c in checks)
