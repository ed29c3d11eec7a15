"""Load a JSON Schema (JSON or YAML), check it, and compile its validator ONCE.

- the draft comes from ``$schema`` (2020-12 when absent; an unknown ``$schema`` is an error, as we
  could not check the schema against its metaschema);
- the schema is checked against that metaschema before anything is validated;
- ``$ref`` to other files resolves relative to the schema's directory through a `referencing`
  Registry (never the network: an ``https://`` ``$id`` is mapped to the file of the same name next to
  the schema); every ``$ref`` is resolved up front, so a dangling one fails at load time, named;
- formats are asserted, with stdlib checkers added for date-time, time, uri, uri-reference and
  hostname when jsonschema's optional format packages are not installed.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime, time
from pathlib import Path
from typing import Any, cast
from urllib.parse import urlsplit
from urllib.request import url2pathname

import jsonschema  # type: ignore[import-untyped]  # (no stubs are installed)
import referencing
import referencing.exceptions
import referencing.jsonschema
from jsonschema.protocols import Validator as JsonValidator  # type: ignore[import-untyped]
from referencing._core import Resolver

from difyctl.errors import UsageError
from difyctl.validation.fastpath import compile_fast
from difyctl.validation.rustpath import RustCheck, compile_rust

MAX_NODES = 1_000_000  # a YAML "billion laughs" expands through aliases: refuse it rather than hang


class SchemaLoadError(UsageError):
    """The schema (or a file it refers to, or the fallback document) is unusable: exit 2."""


@dataclass(frozen=True)
class CompiledSchema:
    schema: Any
    validator: JsonValidator
    draft: str
    source: str
    formats: tuple[str, ...]
    fast: Callable[[Any], bool] | None = None  # accept-only predicate (fastpath.py), when the schema allows
    rust: RustCheck | None = None  # jsonschema-rs (rustpath.py): accept-only, or exact
    patterns: tuple[str, ...] = ()  # every regex of the schema: documents are checked under a time limit
    notes: tuple[str, ...] = ()  # how the schema is checked (for --verbose)


# -- reading ----------------------------------------------------------------------------------------
def read_structured(path: Path, what: str = "schema") -> Any:
    """A JSON or YAML file as plain JSON data (YAML anchors/aliases are fine; YAML-only types are not).
    Read through `yamlio`: bounded size and alias expansion, no repeated keys, `.json` parsed as JSON."""
    from difyctl import yamlio

    try:
        text = yamlio.read_text(path, what=what)
        if not text.strip():
            raise SchemaLoadError(f"{what} {path} is empty")
        data = yamlio.load_text(text, f"{what} {path}", fmt=yamlio.format_for(path), max_nodes=MAX_NODES)
    except yamlio.LoadError as exc:
        raise SchemaLoadError(exc.message, hint=exc.hint) from None
    _check_plain(data, f"{what} {path}")
    return data


def _check_plain(data: Any, where: str) -> None:
    """Refuse alias bombs and YAML-only values (dates, sets, non-string keys), without recursion."""
    stack: list[tuple[Any, str]] = [(data, "$")]
    seen = 0
    while stack:
        node, path = stack.pop()
        seen += 1
        if seen > MAX_NODES:
            raise SchemaLoadError(f"{where} is too large (over {MAX_NODES} nodes once YAML aliases expand)")
        if isinstance(node, dict):
            for k, v in node.items():
                if not isinstance(k, str):
                    raise SchemaLoadError(f"{where}: key {k!r} at {path} is not a string")
                stack.append((v, f"{path}.{k}"))
        elif isinstance(node, list):
            stack.extend((v, f"{path}[{i}]") for i, v in enumerate(node))
        elif not (node is None or isinstance(node, (str, int, float, bool))):
            raise SchemaLoadError(
                f"{where}: value at {path} is a YAML {type(node).__name__}, not JSON", hint="quote it"
            )


# -- compiling --------------------------------------------------------------------------------------
class _UnknownDialect:
    pass


def load_schema(path: Path) -> CompiledSchema:
    return compile_schema(read_structured(path), base_dir=path.resolve().parent, source=str(path))


def compile_schema(schema: Any, *, base_dir: Path | None = None, source: str = "schema") -> CompiledSchema:
    if not isinstance(schema, (dict, bool)):
        raise SchemaLoadError(
            f"{source}: a schema must be an object or a boolean, not {type(schema).__name__}"
        )
    found: Any = jsonschema.Draft202012Validator
    if isinstance(schema, dict) and "$schema" in schema:
        found = jsonschema.validators.validator_for(schema, default=cast(Any, _UnknownDialect))
    if found is _UnknownDialect:
        raise SchemaLoadError(
            f"{source}: unknown $schema {cast(dict[str, Any], schema)['$schema']!r}",
            hint="use https://json-schema.org/draft/2020-12/schema or http://json-schema.org/draft-07/schema#",
        )
    cls = cast(type[JsonValidator], found)
    try:
        cls.check_schema(schema)
    except jsonschema.exceptions.SchemaError as exc:
        raise SchemaLoadError(f"{source} is not a valid schema: {exc.json_path}: {exc.message}") from None
    spec = referencing.jsonschema.specification_with(
        str(cls.META_SCHEMA.get("$id") or cls.META_SCHEMA.get("$schema", "")),
        default=referencing.jsonschema.DRAFT202012,
    )
    retriever = _FileRetriever(base_dir or Path.cwd(), spec)
    registry: referencing.Registry[Any] = referencing.Registry(retrieve=retriever)  # type: ignore[call-arg]
    _check_refs(schema, spec, registry, retriever, source)
    _check_cycles(schema, spec, registry, source)
    for uri, resource in retriever.cache.items():
        try:
            cls.check_schema(resource.contents)
        except jsonschema.exceptions.SchemaError as exc:
            where = f"{uri} (via $ref)"
            raise SchemaLoadError(f"{where} is not a valid schema: {exc.json_path}: {exc.message}") from None
    checker = _format_checker(cls)
    validator = cls(schema, registry=registry, format_checker=checker)
    fast = compile_fast(schema, cls, checker)
    rust, why_not = compile_rust(schema, cls.__name__, checker, external=bool(retriever.cache))
    patterns = tuple(dict.fromkeys(_patterns(schema, spec, registry)))
    if rust is not None:
        decides = "every document" if rust.exact else "valid documents"
        notes = (f"jsonschema-rs decides {decides}; jsonschema lists the errors",)
    else:
        notes = (f"jsonschema-rs not used for this schema: {why_not}; jsonschema decides every document",)
    formats = tuple(sorted(checker.checkers))
    return CompiledSchema(schema, validator, cls.__name__, source, formats, fast, rust, patterns, notes)


class _FileRetriever:
    """referencing's retrieve(): URIs -> files relative to the schema directory (cached, never network)."""

    def __init__(self, base_dir: Path, spec: referencing.Specification[Any]) -> None:
        self.base_dir = base_dir
        self.spec = spec
        self.cache: dict[str, referencing.Resource[Any]] = {}

    def path_for(self, uri: str) -> Path:
        parts = urlsplit(uri)
        if parts.scheme == "file":
            return Path(url2pathname(parts.path))
        if parts.scheme in ("http", "https", "urn") or parts.scheme == "":
            rel = parts.path if parts.scheme == "" else Path(parts.path).name
            if not rel:
                raise LookupError(f"no file name in {uri!r}")
            return self.base_dir / rel
        raise LookupError(f"unsupported URI scheme {parts.scheme!r}")

    def __call__(self, uri: str) -> referencing.Resource[Any]:
        if uri not in self.cache:
            path = self.path_for(uri)
            if not path.is_file():
                raise LookupError(f"no file {path}")
            contents = read_structured(path, "referenced schema")
            self.cache[uri] = referencing.Resource.from_contents(contents, default_specification=self.spec)
        return self.cache[uri]


def _check_refs(
    schema: Any,
    spec: referencing.Specification[Any],
    registry: referencing.Registry[Any],
    retriever: _FileRetriever,
    source: str,
) -> None:
    """Resolve every $ref now (in the schema and in each file it pulls in), naming the first dangling one."""
    root = spec.create_resource(schema)
    docs: list[tuple[Any, Resolver[Any]]] = [(schema, registry.resolver_with_root(root))]
    walked: set[int] = set()
    while docs:
        doc, resolver = docs.pop()
        for ref, res in _refs(doc, resolver, spec):
            try:
                res.lookup(ref)
            except referencing.exceptions.PointerToNowhere as exc:
                why = f"{exc.ref!r} does not exist in that document"
                raise SchemaLoadError(f"{source}: unresolvable $ref {ref!r}: {why}") from None
            except referencing.exceptions.Unresolvable as exc:
                cause = _innermost(exc)
                why = f": {cause.message if isinstance(cause, SchemaLoadError) else cause}" if cause else ""
                raise SchemaLoadError(f"{source}: unresolvable $ref {ref!r}{why}") from None
            except SchemaLoadError as exc:
                raise SchemaLoadError(f"{source}: $ref {ref!r}: {exc.message}") from None
        for uri, resource in list(retriever.cache.items()):
            if id(resource) not in walked:
                walked.add(id(resource))
                docs.append((resource.contents, registry.resolver(base_uri=uri)))


def _innermost(exc: BaseException) -> BaseException | None:
    """The root cause of a lookup failure (our own message), or None when there is none."""
    cause: BaseException = exc
    while not isinstance(cause, SchemaLoadError):
        nxt = cause.__cause__ or (None if cause.__suppress_context__ else cause.__context__)
        if nxt is None:
            break
        cause = nxt
    return None if cause is exc else cause


_DATA_KEYWORDS = frozenset({"const", "enum", "examples", "default"})  # values are data, never schemas
_MAP_KEYWORDS = frozenset(  # values are {name: schema}: names are not keywords
    {"properties", "patternProperties", "$defs", "definitions", "dependentSchemas", "dependencies"}
)


def _nodes(
    doc: Any, resolver: Resolver[Any], spec: referencing.Specification[Any]
) -> Iterator[tuple[dict[str, Any], Resolver[Any]]]:
    """Every subschema (object) of a schema document with the resolver in its scope, walked iteratively."""
    stack: list[tuple[Any, Resolver[Any]]] = [(doc, resolver)]
    first = True
    while stack:
        node, res = stack.pop()
        if isinstance(node, list):
            stack.extend((v, res) for v in node)
        elif isinstance(node, dict):
            if not first and isinstance(node.get("$id"), str):
                res = res.in_subresource(spec.create_resource(node))
            yield node, res
            for key, value in node.items():
                if key in _MAP_KEYWORDS and isinstance(value, dict):
                    stack.extend((v, res) for v in value.values())
                elif key not in _DATA_KEYWORDS:
                    stack.append((value, res))
        first = False


def _refs(
    doc: Any, resolver: Resolver[Any], spec: referencing.Specification[Any]
) -> Iterator[tuple[str, Resolver[Any]]]:
    """Every ($ref, resolver in scope) of a schema document."""
    for node, res in _nodes(doc, resolver, spec):
        if isinstance(node.get("$ref"), str):
            yield node["$ref"], res


_IN_PLACE_LISTS = ("allOf", "anyOf", "oneOf")
_IN_PLACE_ONE = ("not", "if", "then", "else")
_REF_KEYWORDS = ("$ref", "$dynamicRef", "$recursiveRef")


def _in_place(node: dict[str, Any], res: Resolver[Any]) -> Iterator[tuple[Any, Resolver[Any], str]]:
    """The subschemas applied to the *same* instance as `node`: (subschema, resolver, how)."""
    for key in _IN_PLACE_LISTS:
        if isinstance(node.get(key), list):
            yield from ((sub, res, f"{key}/{i}") for i, sub in enumerate(node[key]))
    for key in _IN_PLACE_ONE:
        if key in node:
            yield node[key], res, key
    if isinstance(node.get("dependentSchemas"), dict):
        yield from ((sub, res, f"dependentSchemas/{k}") for k, sub in node["dependentSchemas"].items())
    for key in _REF_KEYWORDS:
        if isinstance(node.get(key), str):
            try:
                found = res.lookup(node[key])
            except referencing.exceptions.Unresolvable:
                continue  # a dynamic anchor resolved only at run time
            yield found.contents, found.resolver, f"{key} {node[key]!r}"


def _check_cycles(
    schema: Any, spec: referencing.Specification[Any], registry: referencing.Registry[Any], source: str
) -> None:
    """Refuse a $ref cycle that applies a schema to the same value again and again (never terminates)."""
    root = registry.resolver_with_root(spec.create_resource(schema))
    done: set[int] = set()
    for start, res in _nodes(schema, root, spec):
        if id(start) in done:
            continue
        path: list[str] = []
        on_path: dict[int, int] = {id(start): 0}
        stack = [(start, _in_place(start, res))]
        while stack:
            node, children = stack[-1]
            step = next(children, None)
            if step is None:
                stack.pop()
                on_path.pop(id(node), None)
                done.add(id(node))
                if path:
                    path.pop()
                continue
            child, child_res, how = step
            if not isinstance(child, dict) or id(child) in done:
                continue
            if id(child) in on_path:
                loop = " -> ".join([*path[on_path[id(child)] :], how])
                raise SchemaLoadError(
                    f"invalid schema {source}: $ref cycle that never reaches the document: {loop}",
                    hint="a $ref must lead through properties/items before it comes back to itself",
                )
            if isinstance(child.get("$id"), str):
                child_res = child_res.in_subresource(spec.create_resource(child))
            path.append(how)
            on_path[id(child)] = len(path)
            stack.append((child, _in_place(child, child_res)))


def _patterns(
    schema: Any, spec: referencing.Specification[Any], registry: referencing.Registry[Any]
) -> Iterator[str]:
    root = registry.resolver_with_root(spec.create_resource(schema))
    for node, _ in _nodes(schema, root, spec):
        if isinstance(node.get("pattern"), str):
            yield node["pattern"]
        if isinstance(node.get("patternProperties"), dict):
            yield from node["patternProperties"]


# -- formats ----------------------------------------------------------------------------------------
_DATE_TIME = re.compile(r"^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$")
_TIME = re.compile(r"^\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$")
_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*$")
_HOST_LABEL = re.compile(r"^(?!-)[A-Za-z0-9-]{1,63}(?<!-)$")
_URI_HEAD = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*:")
_URI_SLOW = re.compile(r"[\s<>\"{}|\\^`\[\]]")  # the bad characters, and brackets (urlsplit's IPv6 checks)
_BAD_URI_CHARS = re.compile(r"[\s<>\"{}|\\^`]")


def _is_date_time(value: object) -> bool:
    if not isinstance(value, str):
        return True
    if not _DATE_TIME.match(value):
        return False
    iso = value[:-1] + "+00:00" if value[-1] in "Zz" else value
    try:
        datetime.fromisoformat(iso.replace("t", "T").replace(" ", "T", 1))
    except ValueError:
        return False
    return True


def _is_time(value: object) -> bool:
    if not isinstance(value, str):
        return True
    if not _TIME.match(value):
        return False
    try:
        time.fromisoformat(value[:8])
    except ValueError:
        return False
    return True


def _is_uri(value: object) -> bool:
    if not isinstance(value, str):
        return True
    if value.isascii() and _URI_HEAD.match(value) and not _URI_SLOW.search(value):
        return True  # what urlsplit would find, without it: a scheme, nothing it strips or rejects
    try:
        parts = urlsplit(value)
    except ValueError:  # a broken [IPv6] host
        return False
    return bool(_SCHEME.match(parts.scheme)) and not _BAD_URI_CHARS.search(value)


def _is_uri_reference(value: object) -> bool:
    return not isinstance(value, str) or not _BAD_URI_CHARS.search(value)


def _is_hostname(value: object) -> bool:
    if not isinstance(value, str):
        return True
    labels = value[:-1].split(".") if value.endswith(".") else value.split(".")
    return 0 < len(value) <= 253 and all(_HOST_LABEL.match(label) for label in labels)


_STDLIB_FORMATS: dict[str, Callable[[object], bool]] = {
    "date-time": _is_date_time,
    "time": _is_time,
    "uri": _is_uri,
    "uri-reference": _is_uri_reference,
    "hostname": _is_hostname,
}


def _format_checker(cls: type[JsonValidator]) -> jsonschema.FormatChecker:
    base = cls.FORMAT_CHECKER
    checker = jsonschema.FormatChecker(())  # a copy: never mutate the draft's own; FormatChecker(names)
    checker.checkers = dict(base.checkers)  # would look the names up globally, where draft 3's are not
    for name, func in _STDLIB_FORMATS.items():
        if name not in checker.checkers:
            checker.checks(name)(func)  # they never raise: called without a wrapper
    return checker


def load_fallback(path: Path, compiled: CompiledSchema) -> Any:
    """The fallback document, which must itself pass the schema (else it is bad input: exit 2)."""
    value = read_structured(path, "fallback document")
    error = jsonschema.exceptions.best_match(compiled.validator.iter_errors(value))
    if error is not None:
        raise SchemaLoadError(
            f"fallback document {path} does not match the schema: {error.json_path}: {error.message}"
        )
    return value
