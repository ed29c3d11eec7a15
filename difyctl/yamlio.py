"""The ONE safe loader for every YAML/JSON file difyctl reads (inputs, apps files, schemas, DSL files,
manifests, profiles).

Limits are checked on the parsed *node graph*, before a single Python object is built, so a YAML alias
bomb ("billion laughs": 9 lines, 10^9 values once expanded) is refused in milliseconds instead of eating
the machine or, worse, being sent to the server:

- the file is at most `MAX_BYTES`;
- the document, with every alias expanded, has at most `MAX_NODES` values (counted without expanding:
  each node's size is memoised), and no alias refers to a node that contains it;
- a mapping never repeats a key (YAML and JSON both let the last one win silently: refused, with the
  line and column of the repeat);
- a document that is a plain tree (no alias, no merge key, only str/int/float/bool/null scalars: every
  DSL export) is checked while it is built, in one pass; any other goes through the node walk above
  and then PyYAML's SafeLoader constructor, with the same result;
- a `.json` file is parsed as JSON (its errors give line and column), `.yaml`/`.yml` as YAML, anything
  else as JSON when it parses as JSON and YAML otherwise.

Every problem is a `LoadError` (a UsageError: exit 2) whose message starts with the file name.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, cast

from difyctl.errors import UsageError

if TYPE_CHECKING:
    import yaml

MAX_BYTES = 32 * 1024 * 1024
MAX_NODES = 1_000_000
Format = Literal["auto", "json", "yaml"]

__all__ = [
    "MAX_BYTES",
    "MAX_NODES",
    "LoadError",
    "check_node",
    "compose_checked",
    "format_for",
    "load_file",
    "load_text",
    "loader_for",
    "read_text",
]


class LoadError(UsageError):
    """A file difyctl reads is unreadable, malformed or over a limit (exit 2)."""


class _MalformedYaml(LoadError):
    def __init__(self, source: str, detail: str) -> None:
        super().__init__(f"{source}: {detail}", hint="fix the file at that line, or export it again")
        self.detail = detail


def read_text(path: Path, *, what: str = "", max_bytes: int = MAX_BYTES) -> str:
    """The file as text (UTF-8, a BOM tolerated), refusing one over `max_bytes` before reading it."""
    label = f"{what} {path}".strip()
    try:
        size = path.stat().st_size
        if size > max_bytes:
            raise LoadError(
                f"{label} is too large ({size:,} bytes; the limit is {max_bytes:,})",
                hint="split the file, or check that it is the file you meant",
            )
        with path.open("rb") as handle:  # a FIFO or /dev/zero has no size: read one byte past the limit
            raw = handle.read(max_bytes + 1)
    except OSError as exc:
        raise LoadError(f"cannot read {label}: {exc.strerror or exc}") from None
    if len(raw) > max_bytes:
        raise LoadError(f"{label} is too large (over {max_bytes:,} bytes)")
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise LoadError(f"{label} is not UTF-8 text (byte {exc.start})") from None


def load_file(path: Path, *, what: str = "", fmt: Format | None = None, max_nodes: int = MAX_NODES) -> Any:
    """Read and parse `path` within the limits; `fmt` defaults from the suffix (see the module doc)."""
    text = read_text(path, what=what)
    return load_text(text, f"{what} {path}".strip(), fmt=fmt or format_for(path), max_nodes=max_nodes)


def load_text(text: str, source: str, *, fmt: Format = "yaml", max_nodes: int = MAX_NODES) -> Any:
    """Parse `text` (named `source` in errors) within the limits. Empty YAML is None."""
    if len(text) > MAX_BYTES:
        raise LoadError(f"{source} is too large (over {MAX_BYTES:,} characters)")
    if fmt == "json":
        return _load_json(text, source)
    if fmt == "auto":
        try:
            return _load_json(text, source)
        except LoadError as exc:
            if not isinstance(exc.__cause__, ValueError):  # a duplicate key is a real error in JSON too
                raise
        try:
            return _load_yaml(text, source, max_nodes)
        except _MalformedYaml as exc:
            raise LoadError(f"{source} is not valid JSON or YAML ({exc.detail})") from None
    return _load_yaml(text, source, max_nodes)


def format_for(path: Path) -> Format:
    suffix = path.suffix.lower()
    if suffix == ".json":
        return "json"
    if suffix in (".yaml", ".yml"):
        return "yaml"
    return "auto"


# -- JSON --------------------------------------------------------------------------------------------
def _load_json(text: str, source: str) -> Any:
    def pairs(items: list[tuple[str, Any]]) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for key, value in items:
            if key in out:
                raise LoadError(f"{source}: duplicate key {key!r} in a JSON object", hint="keep one of them")
            out[key] = value
        return out

    def constant(name: str) -> Any:
        raise ValueError(f"{name} is not valid JSON")

    try:
        return json.loads(text, object_pairs_hook=pairs, parse_constant=constant)
    except json.JSONDecodeError as exc:
        raise LoadError(
            f"{source}: not valid JSON at line {exc.lineno}, column {exc.colno}: {exc.msg}"
        ) from exc
    except ValueError as exc:
        raise LoadError(f"{source}: not valid JSON: {exc}") from exc
    except RecursionError:
        raise LoadError(f"{source}: nested too deeply") from None


# -- YAML --------------------------------------------------------------------------------------------
_LOADER: Any = None
_TAGS = "tag:yaml.org,2002:"
_STR, _SEQ, _MAP = _TAGS + "str", _TAGS + "seq", _TAGS + "map"
# plain scalars PyYAML's own constructors build (the ones DSL files use); others take the full walk
_SCALARS = frozenset(_TAGS + t for t in ("null", "bool", "int", "float"))
_RESOLVED_MAX = 4096  # plain scalars whose tag is remembered (keys and small values repeat a lot)


def _loader_class() -> Any:
    """libyaml's SafeLoader when present (DSL files can be big), with the tag of each plain scalar
    resolved once per process: the C parser asks Python for every scalar's tag, ~a quarter of its
    time on a DSL export, and the answer only depends on the text when no path resolver is set."""
    global _LOADER
    if _LOADER is not None:
        return _LOADER
    import yaml

    base: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    resolved: dict[str, str] = {}
    scalar = yaml.ScalarNode

    class Loader(base):  # type: ignore[misc]
        def resolve(self, kind: type, value: Any, implicit: tuple[bool, bool]) -> str:
            if kind is not scalar or not implicit[0] or self.yaml_path_resolvers:
                return base.resolve(self, kind, value, implicit)  # type: ignore[no-any-return]
            tag = resolved.get(value)
            if tag is None:
                tag = base.resolve(self, kind, value, implicit)
                if len(resolved) < _RESOLVED_MAX and len(value) <= 64:
                    resolved[value] = tag
            return tag

    _LOADER = Loader
    return Loader


def _load_yaml(text: str, source: str, max_nodes: int) -> Any:
    import yaml

    loader = _loader_class()(text)
    try:
        try:
            node = _compose(loader, source)
        except _MalformedYaml:
            if isinstance(loader, yaml.SafeLoader):
                raise
            # libyaml stops at the same error; the pure-Python parser's marks are the ones an editor shows
            _compose(yaml.SafeLoader(text), source)
            raise
        if node is None:
            return None
        built = _build_tree(node, loader, source, max_nodes)
        if built is not _NOT_A_TREE:
            return built
        check_node(node, source, max_nodes=max_nodes)
        try:
            return loader.construct_document(node)
        except yaml.YAMLError as exc:
            raise _yaml_error(exc, source) from None
        except RecursionError:
            raise LoadError(f"{source}: nested too deeply") from None
    finally:
        loader.dispose()


def _compose(loader: Any, source: str) -> yaml.Node | None:
    """`loader.get_single_node()`: a YAML parse error becomes a LoadError with its line and column."""
    import yaml

    try:
        node: yaml.Node | None = loader.get_single_node()
    except yaml.YAMLError as exc:
        raise _yaml_error(exc, source) from None
    except RecursionError:
        raise LoadError(f"{source}: nested too deeply") from None
    return node


def compose_checked(loader: Any, source: str, *, max_nodes: int = MAX_NODES) -> yaml.Node | None:
    """`loader.get_single_node()` and then `check_node`: a YAML parse error becomes a LoadError with
    its line and column."""
    node = _compose(loader, source)
    if node is not None:
        check_node(node, source, max_nodes=max_nodes)
    return node


_NOT_A_TREE: Any = object()


class _NotATree(Exception):
    pass


def _build_tree(root: yaml.Node, loader: Any, source: str, max_nodes: int) -> Any:
    """The common case (every DSL export) in ONE pass: check and build a document that is a tree of
    plain mappings, sequences and str/int/float/bool/null scalars, exactly as PyYAML's SafeLoader
    builds it, refusing a repeated key on the way. `_NOT_A_TREE` (nothing decided) as soon as a node
    is met twice (an alias), a merge key, another tag or too many nodes: `check_node` and PyYAML's
    constructor then decide. The check, then PyYAML's generic constructor, were ~0.6 ms of CPU per
    DSL export under the GIL, beside `snapshot create --all`'s fan-out; this pass is a fraction."""
    import yaml

    scalar, sequence, mapping = yaml.ScalarNode, yaml.SequenceNode, yaml.MappingNode
    constructors = loader.yaml_constructors
    seen: set[int] = set()

    def build(node: yaml.Node) -> Any:
        key = id(node)
        if key in seen:
            raise _NotATree
        seen.add(key)
        kind, tag = type(node), node.tag
        if kind is scalar:
            if tag == _STR:
                return node.value
            if tag in _SCALARS:
                return constructors[tag](loader, node)
        elif kind is sequence and tag == _SEQ:
            return [build(item) for item in node.value]
        elif kind is mapping and tag == _MAP:
            out = {}
            for key_node, value_node in node.value:
                if type(key_node) is not scalar or (key_node.tag != _STR and key_node.tag not in _SCALARS):
                    raise _NotATree  # merge keys (<<), `=`, complex keys: PyYAML's rules
                out[build(key_node)] = build(value_node)
            if len(out) < len(node.value):  # two keys built equal: a repeat unless e.g. 1 and 0x1
                _check_duplicates(cast("yaml.MappingNode", node), source)
            return out
        raise _NotATree

    try:
        built = build(root)
    except (_NotATree, RecursionError):
        return _NOT_A_TREE
    return _NOT_A_TREE if len(seen) > max_nodes else built


def _yaml_error(exc: Exception, source: str) -> LoadError:
    mark = getattr(exc, "problem_mark", None)
    where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""
    problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
    return _MalformedYaml(source, f"malformed YAML{where}: {problem}")


def check_node(root: yaml.Node, source: str, *, max_nodes: int = MAX_NODES) -> None:
    """Refuse a recursive alias, a document over `max_nodes` values once aliases expand, and a mapping
    with a repeated key. Iterative and memoised: an alias bomb costs its *written* size."""
    if _check_tree(root, source, max_nodes):
        return
    _check_graph(root, source, max_nodes)


def _check_tree(root: yaml.Node, source: str, max_nodes: int) -> bool:
    """The common case in one cheap pass: a document without aliases is a tree, so its expanded size is
    its node count. Checks repeated keys on the way; False (nothing decided) as soon as a node is met
    twice, i.e. an alias: `_check_graph` then does the memoised walk. A DSL export of ~1,500 nodes
    took ~2 ms of CPU (under the GIL) in the two-pass walk, a third of `snapshot create`'s save."""
    import yaml

    mapping, sequence = yaml.MappingNode, yaml.SequenceNode
    seen: set[int] = set()
    stack: list[yaml.Node] = [root]
    while stack:
        node = stack.pop()
        key = id(node)
        if key in seen:
            return False
        seen.add(key)
        if len(seen) > max_nodes:
            return False  # the full walk names the limit the same way
        if isinstance(node, mapping):
            _check_duplicates(node, source)
            for pair in node.value:
                stack.extend(pair)
        elif isinstance(node, sequence):
            stack.extend(node.value)
    return True


def _check_graph(root: yaml.Node, source: str, max_nodes: int) -> None:
    import yaml

    sizes: dict[int, int] = {}
    open_nodes: set[int] = set()
    stack: list[tuple[yaml.Node, bool]] = [(root, False)]
    while stack:
        node, done = stack.pop()
        key = id(node)
        if done:
            open_nodes.discard(key)
            sizes[key] = 1 + sum(sizes[id(c)] for c in _children(node))
            if sizes[key] > max_nodes:
                raise LoadError(
                    f"{source}: too large once YAML aliases are expanded (over {max_nodes:,} values)",
                    hint="a file this size is usually an alias bomb; write the values out",
                )
            continue
        if key in sizes:
            continue
        if key in open_nodes:
            line = node.start_mark.line + 1
            raise LoadError(f"{source}: line {line}: an alias refers to a node that contains it")
        open_nodes.add(key)
        if isinstance(node, yaml.MappingNode):
            _check_duplicates(node, source)
        stack.append((node, True))
        stack.extend((c, False) for c in _children(node) if id(c) not in sizes)


def _children(node: yaml.Node) -> list[yaml.Node]:
    import yaml

    if isinstance(node, yaml.SequenceNode):
        return list(node.value)
    if isinstance(node, yaml.MappingNode):
        return [n for pair in node.value for n in pair]
    return []


def _check_duplicates(node: yaml.MappingNode, source: str) -> None:
    import yaml

    seen: dict[tuple[str, str], yaml.Node] = {}
    for key_node, _ in node.value:
        if not isinstance(key_node, yaml.ScalarNode) or key_node.tag == "tag:yaml.org,2002:merge":
            continue
        ident = (key_node.tag, key_node.value)
        first = seen.get(ident)
        if first is not None:
            mark = key_node.start_mark
            raise LoadError(
                f"{source}: line {mark.line + 1}, column {mark.column + 1}: duplicate key "
                f"{key_node.value!r} (first at line {first.start_mark.line + 1})",
                hint="keep one of them",
            )
        seen[ident] = key_node


def loader_for(text: str) -> Any:
    """A SafeLoader for callers that walk the nodes themselves (their line numbers); pair it with
    `compose_checked` and call `dispose()` when done."""
    import yaml

    return yaml.SafeLoader(text)
