"""The one safe loader (difyctl/yamlio.py): limits on the node graph, repeated keys, JSON by suffix."""

from __future__ import annotations

import datetime
from pathlib import Path
from typing import Any

import pytest

from difyctl import yamlio
from difyctl.errors import UsageError

BOMB = "\n".join(
    ["a: &a [lol, lol, lol, lol, lol, lol, lol, lol, lol]"]
    + [f"{c}: &{c} [{', '.join(['*' + p] * 9)}]" for p, c in zip("abcdefgh", "bcdefghi", strict=True)]
)


def test_alias_bomb_is_refused_without_expanding_it(tmp_path: Path) -> None:
    path = tmp_path / "bomb.yaml"
    path.write_text(BOMB + "\n")
    assert len(BOMB.splitlines()) == 9
    with pytest.raises(yamlio.LoadError, match="too large once YAML aliases are expanded") as info:
        yamlio.load_file(path)
    assert str(path) in info.value.message
    assert info.value.exit_code == 2 and isinstance(info.value, UsageError)


def test_the_node_limit_counts_expanded_aliases_exactly() -> None:
    text = "a: &a [1, 2, 3]\nb: [*a, *a]\n"
    # root mapping 1 + key a 1 + [1,2,3] 4 + key b 1 + [*a, *a] (1 + 4 + 4) = 16
    assert yamlio.load_text(text, "t.yaml", max_nodes=16) == {"a": [1, 2, 3], "b": [[1, 2, 3], [1, 2, 3]]}
    with pytest.raises(yamlio.LoadError, match="over 15 values"):
        yamlio.load_text(text, "t.yaml", max_nodes=15)


def test_a_document_without_aliases_is_counted_in_one_pass(monkeypatch: pytest.MonkeyPatch) -> None:
    """The common case (every DSL export) skips the memoised alias walk, with the same limit."""
    walks: list[str] = []
    full = yamlio._check_graph

    def spy(*args: Any) -> None:
        walks.append("graph")
        full(*args)

    monkeypatch.setattr(yamlio, "_check_graph", spy)
    text = "a: [1, 2, 3]\nb: {c: 4}\n"  # root 1 + a 1 + [1,2,3] 4 + b 1 + {c: 4} 3 = 10
    assert yamlio.load_text(text, "t.yaml", max_nodes=10) == {"a": [1, 2, 3], "b": {"c": 4}}
    assert walks == []
    with pytest.raises(yamlio.LoadError, match="over 9 values"):
        yamlio.load_text(text, "t.yaml", max_nodes=9)
    assert yamlio.load_text("a: &x [1]\nb: *x\n", "t.yaml") == {"a": [1], "b": [1]}
    assert walks == ["graph", "graph"]  # over the limit, and an alias: the full walk decides


EDGE_CASES = [
    "a: 0x1\nb: 010\nc: 0o7\nd: 1_000\ne: 1:30\nf: -0\ng: +5\n",
    "a: yes\nb: No\nc: on\nd: OFF\ne: ~\nf: null\ng: ''\nh: 'yes'\ni: \"1\"\n",
    "a: .inf\nb: -.Inf\nd: 1e3\ne: 1.5e-3\ng: 190:20:30.15\n",
    "1: a\n01: b\ntrue: c\n~: d\n",
    "t: 2001-12-14t21:59:43.10-05:00\nd: 2002-12-14\n",
    "b: !!binary aGVsbG8=\ns: !!set {a, b}\no: !!omap [a: 1, b: 2]\n",
    "x: !!str 123\ny: !!int '7'\nz: !!float '1'\n",
    "base: &b {x: 1}\none:\n  <<: *b\n  y: 2\n",
    "= : v\n",
    "- 1\n- [2, {a: b}]\n- 'q'\n- \"d\\u00e9\"\n- |\n  multi\n  line\n",
    "plain",
]


@pytest.mark.parametrize("text", EDGE_CASES)
def test_documents_are_built_as_pyyaml_builds_them(text: str) -> None:
    """The one-pass builder of plain documents and PyYAML's constructor (aliases, merge keys,
    timestamps ...) give the same values, of the same types, keys in the same order. Twice: the
    remembered tags of plain scalars (`yes` is a bool) never leak to quoted ones ('yes' is text)."""
    import yaml

    def typed(value: Any) -> Any:
        if isinstance(value, dict):
            return [(typed(k), typed(v)) for k, v in value.items()]
        if isinstance(value, (list, set)):
            return [typed(v) for v in (sorted(value) if isinstance(value, set) else value)]
        return (type(value).__name__, value)

    expected = typed(yaml.load(text, Loader=yaml.SafeLoader))  # noqa: S506 - the reference loader
    assert typed(yamlio.load_text(text, "t.yaml")) == expected
    assert typed(yamlio.load_text(text, "t.yaml")) == expected


def test_a_plain_document_is_checked_and_built_in_one_pass(monkeypatch: pytest.MonkeyPatch) -> None:
    """A DSL-like document (no alias, plain tags) never reaches the node walk nor PyYAML's
    constructor; a document with an alias or a timestamp does, with the same answer."""
    calls: list[str] = []
    monkeypatch.setattr(yamlio, "check_node", lambda *a, **k: calls.append("check"))
    text = "app: {mode: workflow, name: n}\nworkflow:\n  graph: {nodes: [{id: a, n: 1, f: 0.5}]}\n"
    assert yamlio.load_text(text, "t.yaml") == {
        "app": {"mode": "workflow", "name": "n"},
        "workflow": {"graph": {"nodes": [{"id": "a", "n": 1, "f": 0.5}]}},
    }
    assert calls == []
    assert yamlio.load_text("a: &x [1]\nb: *x\n", "t.yaml") == {"a": [1], "b": [1]}
    assert yamlio.load_text("d: 2002-12-14\n", "t.yaml") == {"d": datetime.date(2002, 12, 14)}
    assert calls == ["check", "check"]


def test_remembered_tags_never_override_a_path_resolver() -> None:
    """The tag of a plain scalar is remembered only when no path resolver can change it."""
    import yaml

    assert yamlio.load_text("b: hello\n", "t.yaml") == {"b": "hello"}  # `hello` remembered as str

    class WithPath(yamlio._loader_class()):  # type: ignore[misc]
        pass

    yaml.add_path_resolver("!custom", ["a"], yaml.ScalarNode, Loader=WithPath)
    loader = WithPath("a: hello\n")
    try:
        node = loader.get_single_node()
    finally:
        loader.dispose()
    assert node.value[0][1].tag == "!custom"


def test_a_recursive_alias_is_refused() -> None:
    with pytest.raises(yamlio.LoadError, match="t.yaml: line 1: an alias refers to a node that contains it"):
        yamlio.load_text("&a [1, *a]\n", "t.yaml")


@pytest.mark.parametrize(
    ("text", "where"),
    [
        ("a: 1\nb: 2\na: 3\n", "line 3, column 1: duplicate key 'a' (first at line 1)"),
        ("x:\n  k: 1\n  k: 2\n", "line 3, column 3: duplicate key 'k' (first at line 2)"),
        ("- {q: 1, q: 2}\n", "line 1, column 10: duplicate key 'q'"),
    ],
)
def test_repeated_yaml_keys_are_refused_with_line_and_column(text: str, where: str) -> None:
    with pytest.raises(yamlio.LoadError) as info:
        yamlio.load_text(text, "t.yaml")
    assert info.value.message == f"t.yaml: {where}" or info.value.message.startswith(f"t.yaml: {where}")


def test_merge_keys_are_not_duplicates() -> None:
    text = "base: &b {x: 1}\none:\n  <<: *b\n  y: 2\n"
    assert yamlio.load_text(text, "t.yaml") == {"base": {"x": 1}, "one": {"x": 1, "y": 2}}


def test_a_json_file_is_parsed_as_json_with_the_position(tmp_path: Path) -> None:
    path = tmp_path / "in.json"
    path.write_text('{"a": 1,\n "b": }\n')  # YAML would accept this (b: null)
    with pytest.raises(yamlio.LoadError, match=r"in.json: not valid JSON at line 2, column 7"):
        yamlio.load_file(path)
    path.write_text('{"a": 1, "a": 2}')
    with pytest.raises(yamlio.LoadError, match="duplicate key 'a'"):
        yamlio.load_file(path)
    path.write_text('{"a": NaN}')
    with pytest.raises(yamlio.LoadError, match="NaN is not valid JSON"):
        yamlio.load_file(path)
    path.write_text('{"a": [1, 2]}')
    assert yamlio.load_file(path) == {"a": [1, 2]}


def test_auto_format_says_neither_json_nor_yaml(tmp_path: Path) -> None:
    path = tmp_path / "inputs.txt"
    path.write_text("x: [1, 2\n")
    with pytest.raises(yamlio.LoadError, match=r"is not valid JSON or YAML \(malformed YAML at line 2"):
        yamlio.load_file(path)
    path.write_text('{"k": "v"}')
    assert yamlio.load_file(path) == {"k": "v"}
    path.write_text("k: v\n")
    assert yamlio.load_file(path) == {"k": "v"}


def test_malformed_yaml_reports_the_editor_line(tmp_path: Path) -> None:
    path = tmp_path / "x.yml"
    path.write_text("ok: 1\nlist: [1, 2\nnext: 3\n")
    with pytest.raises(yamlio.LoadError, match=r"x.yml: malformed YAML at line \d+, column \d+"):
        yamlio.load_file(path)


def test_file_size_is_bounded_before_reading(tmp_path: Path) -> None:
    path = tmp_path / "big.yaml"
    path.write_text("a: " + "x" * 200 + "\n")
    with pytest.raises(yamlio.LoadError, match=r"big.yaml is too large \(204 bytes; the limit is 100\)"):
        yamlio.read_text(path, max_bytes=100)
    assert yamlio.read_text(path, max_bytes=204).startswith("a: x")


def test_unreadable_and_non_utf8_files_name_the_file(tmp_path: Path) -> None:
    with pytest.raises(yamlio.LoadError, match=r"cannot read inputs file .*missing.yaml"):
        yamlio.load_file(tmp_path / "missing.yaml", what="inputs file")
    bad = tmp_path / "latin.yaml"
    bad.write_bytes(b"a: \xe9\n")
    with pytest.raises(yamlio.LoadError, match="latin.yaml is not UTF-8 text"):
        yamlio.load_file(bad)


def test_deep_nesting_is_a_load_error_not_a_recursion_error() -> None:
    with pytest.raises(yamlio.LoadError, match="nested too deeply|too large|malformed"):
        yamlio.load_text("[" * 100_000 + "]" * 100_000, "deep.yaml")
    with pytest.raises(yamlio.LoadError, match="nested too deeply"):
        yamlio.load_text("[" * 100_000 + "]" * 100_000, "deep.json", fmt="json")


def test_every_user_file_reader_goes_through_yamlio() -> None:
    """No module parses a user file with yaml.safe_load / yaml.load / json.load directly."""
    root = Path(yamlio.__file__).parent
    offenders = []
    for path in root.rglob("*.py"):
        if "emulator" in path.parts or path.name == "yamlio.py":
            continue
        text = path.read_text()
        for needle in ("yaml.safe_load(", "yaml.load(", "json.load(", "yaml.SafeLoader("):
            if needle in text:
                offenders.append(f"{path.relative_to(root)}: {needle}")
    # rotation/secrets parses the DSL the *server* exported (not a user file)
    assert offenders == ["rotation/secrets.py: yaml.safe_load("]
