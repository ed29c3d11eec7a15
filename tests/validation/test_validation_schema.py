"""Loading and compiling schemas: metaschema check, drafts, $ref to sibling files, formats, YAML."""

from __future__ import annotations

from pathlib import Path

import pytest

from difyctl.errors import UsageError
from difyctl.exit_codes import ExitCode
from difyctl.validation.engine import Validator
from difyctl.validation.schema import SchemaLoadError, compile_schema, load_fallback, load_schema
from tests.validation.conftest import WriteJson

DRAFT7 = "http://json-schema.org/draft-07/schema#"
D2020 = "https://json-schema.org/draft/2020-12/schema"


def test_invalid_schema_is_a_usage_error_naming_the_problem(write_json: WriteJson) -> None:
    path = write_json("bad.json", {"type": "objekt"})
    with pytest.raises(SchemaLoadError) as info:
        load_schema(path)
    assert isinstance(info.value, UsageError) and info.value.exit_code == ExitCode.USAGE
    assert "not a valid schema" in info.value.message and "objekt" in info.value.message


@pytest.mark.parametrize(
    ("content", "fragment"),
    [
        ("", "is empty"),
        ("{not json", "not valid JSON"),
        ("[1, 2]", "must be an object or a boolean"),
        ('{"$schema": "https://example.com/my-dialect"}', "unknown $schema"),
    ],
)
def test_unusable_schema_files(tmp_path: Path, content: str, fragment: str) -> None:
    path = tmp_path / "s.json"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(SchemaLoadError, match=None) as info:
        load_schema(path)
    assert fragment in info.value.message


def test_missing_and_non_utf8_schema(tmp_path: Path) -> None:
    with pytest.raises(SchemaLoadError, match="cannot read"):
        load_schema(tmp_path / "nope.json")
    bad = tmp_path / "bin.json"
    bad.write_bytes(b"\xff\xfe\x00garbage")
    with pytest.raises(SchemaLoadError, match="not UTF-8"):
        load_schema(bad)


def test_draft_comes_from_dollar_schema() -> None:
    assert compile_schema({"$schema": DRAFT7, "type": "string"}).draft == "Draft7Validator"
    assert compile_schema({"$schema": D2020}).draft == "Draft202012Validator"
    assert compile_schema({"type": "string"}).draft == "Draft202012Validator"
    assert compile_schema(True).validator.is_valid(1)


@pytest.mark.parametrize("dialect", [DRAFT7, D2020])
@pytest.mark.parametrize(
    ("fmt", "good", "bad"),
    [
        ("date-time", "2026-11-21T10:00:00Z", "yesterday"),
        ("date-time", "2026-11-21T10:00:00.5+01:00", "2026-13-45T10:00:00Z"),
        ("date", "2026-11-21", "21/11/2026"),
        ("email", "ops@example.com", "not-an-email"),
        ("uri", "https://example.com/a?b=c", "no scheme here"),
        ("hostname", "api.example.com", "-bad-.example"),
        ("ipv4", "10.0.0.1", "999.1.1.1"),
        ("time", "10:00:00Z", "25:99"),
    ],
)
def test_formats_are_asserted(dialect: str, fmt: str, good: str, bad: str) -> None:
    v = compile_schema({"$schema": dialect, "type": "string", "format": fmt}).validator
    assert v.is_valid(good)
    assert not v.is_valid(bad)


def test_ref_to_sibling_files_resolves(write_json: WriteJson) -> None:
    write_json(
        "defs/address.json",
        {"type": "object", "required": ["city"], "properties": {"zip": {"$ref": "zip.json"}}},
    )
    write_json("defs/zip.json", {"type": "string", "pattern": "^[0-9]{5}$"})
    root = write_json(
        "person.json",
        {"type": "object", "properties": {"home": {"$ref": "defs/address.json"}}, "required": ["home"]},
    )
    v = load_schema(root).validator
    assert v.is_valid({"home": {"city": "Paris", "zip": "75001"}})
    assert not v.is_valid({"home": {"zip": "75001"}})
    assert not v.is_valid({"home": {"city": "Paris", "zip": "7500"}})


def test_https_id_maps_to_the_file_of_the_same_name(write_json: WriteJson) -> None:
    write_json("item.json", {"type": "integer"})
    root = write_json(
        "list.json",
        {"$id": "https://schemas.example.com/v1/list.json", "type": "array", "items": {"$ref": "item.json"}},
    )
    v = load_schema(root).validator
    assert v.is_valid([1, 2]) and not v.is_valid(["x"])


@pytest.mark.parametrize(
    ("ref", "fragment"),
    [
        ("missing.json", "'missing.json'"),
        ("#/$defs/nothing", "'#/$defs/nothing'"),
        ("defs.json#/$defs/absent", "'defs.json#/$defs/absent'"),
    ],
)
def test_unresolvable_ref_names_the_ref(write_json: WriteJson, ref: str, fragment: str) -> None:
    write_json("defs.json", {"$defs": {"present": {"type": "string"}}})
    root = write_json("root.json", {"type": "object", "properties": {"a": {"$ref": ref}}})
    with pytest.raises(SchemaLoadError) as info:
        load_schema(root)
    assert "unresolvable $ref" in info.value.message and fragment in info.value.message


def test_dangling_ref_inside_a_sibling_file_is_found(write_json: WriteJson) -> None:
    write_json("a.json", {"properties": {"b": {"$ref": "b.json"}}})
    root = write_json("root.json", {"$ref": "a.json"})
    with pytest.raises(SchemaLoadError, match="b.json"):
        load_schema(root)


def test_yaml_schema_with_anchors(tmp_path: Path) -> None:
    path = tmp_path / "schema.yaml"
    path.write_text(
        "type: object\n"
        "properties:\n"
        "  first: &name {type: string, minLength: 1}\n"
        "  last: *name\n"
        "required: [first, last]\n",
        encoding="utf-8",
    )
    v = load_schema(path).validator
    assert v.is_valid({"first": "Ada", "last": "Lovelace"})
    assert not v.is_valid({"first": "Ada", "last": ""})


def test_yaml_alias_bomb_is_refused(tmp_path: Path) -> None:
    lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    for i in range(1, 8):
        prev = f"*a{i - 1}"
        lines.append(f"a{i}: &a{i} [{', '.join([prev] * 10)}]")
    path = tmp_path / "bomb.yaml"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    with pytest.raises(SchemaLoadError, match="too large"):
        load_schema(path)


def test_yaml_only_values_are_refused(tmp_path: Path) -> None:
    path = tmp_path / "s.yml"
    path.write_text("const: 2026-11-21\n", encoding="utf-8")
    with pytest.raises(SchemaLoadError, match="YAML date"):
        load_schema(path)


def test_fallback_must_match_the_schema(write_json: WriteJson) -> None:
    compiled = compile_schema({"type": "object", "required": ["status"]})
    assert load_fallback(write_json("ok.json", {"status": "unknown"}), compiled) == {"status": "unknown"}
    with pytest.raises(SchemaLoadError, match="does not match the schema"):
        load_fallback(write_json("bad.json", {"other": 1}), compiled)


def test_referenced_files_are_checked_against_the_metaschema(write_json: WriteJson) -> None:
    write_json("part.json", {"type": 12})
    root = write_json("root.json", {"properties": {"a": {"$ref": "part.json"}}})
    with pytest.raises(SchemaLoadError, match=r"part.json \(via \$ref\) is not a valid schema"):
        load_schema(root)


def test_refs_under_properties_named_like_keywords_are_checked(write_json: WriteJson) -> None:
    root = write_json(
        "root.json", {"properties": {"enum": {"$ref": "gone.json"}, "default": {"type": "string"}}}
    )
    with pytest.raises(SchemaLoadError, match="gone.json"):
        load_schema(root)


def test_a_draft_3_schema_compiles_with_its_own_formats() -> None:
    """Draft 3's checker holds formats no other draft has (ip-address, host-name, color): copying it
    through FormatChecker(names) looked them up in the global registry and died on a KeyError."""
    compiled = compile_schema(
        {"$schema": "http://json-schema.org/draft-03/schema#", "type": "string", "format": "ip-address"}
    )
    assert compiled.draft == "Draft3Validator"
    assert Validator(compiled).validate_value("10.0.0.1").ok
    assert not Validator(compiled).validate_value("999.0.0.1").ok
