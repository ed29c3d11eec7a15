"""Store aliases (issue 12): a tag asked for on unchanged content is recorded, never dropped."""

from __future__ import annotations

import json

import pytest

from difyctl.errors import UsageError
from difyctl.snapshots.paths import check_user_tag, is_safety
from difyctl.snapshots.store import SnapshotStore
from tests.snapshots.conftest import Clock
from tests.snapshots.test_store import save


def test_an_unchanged_app_with_a_new_tag_gets_an_alias_with_its_message(
    store: SnapshotStore, clock: Clock
) -> None:
    first = save(store, tag="v2.3.0")
    clock.tick(minutes=5)
    second = save(store, tag="v2.4.0", message="before the release")
    assert second.status == "tagged" and not second.created
    assert second.snapshot.alias_of == "v2.3.0" and second.path == first.path
    assert second.snapshot.message == "before the release"
    assert second.snapshot.created_at > first.snapshot.created_at
    assert sorted(p.name for p in first.path.parent.iterdir()) == ["v2.3.0.json", "v2.3.0.yml", "v2.4.0.json"]
    assert json.loads((first.path.parent / "v2.3.0.json").read_text()).get("alias_of") is None  # shape kept
    loaded = store.load_verified(second.snapshot.app_id, "v2.4.0")
    assert loaded.raw == first.path.read_bytes() and loaded.meta.tag == "v2.4.0"
    third = save(store, tag="v2.5.0")  # an alias of an alias names the content's own tag
    assert third.snapshot.alias_of == "v2.3.0"
    assert save(store).status == "unchanged"  # no tag asked for: nothing to record
    with pytest.raises(UsageError, match="already exists"):
        save(store, tag="v2.4.0")
    assert store.verify() == []


def test_verify_names_an_alias_whose_content_is_gone(store: SnapshotStore) -> None:
    first = save(store, tag="v1")
    save(store, tag="v1-again")
    first.path.unlink()
    (first.path.parent / "v1.json").unlink()
    problems = store.verify()
    assert [(p.kind, "v1-again -> v1" in p.detail) for p in problems] == [("missing", True)]


def test_prune_removes_tags_and_the_content_only_when_nothing_names_it(store: SnapshotStore) -> None:
    first = save(store, tag="v1")
    save(store, tag="v1-b")
    result = store.prune(first.snapshot.app_id, 1)
    assert [m.tag for m in result.removed] == ["v1"] and first.path.exists()
    assert store.load_verified(first.snapshot.app_id, "v1-b").raw == first.path.read_bytes()
    store.prune(first.snapshot.app_id, 0)
    assert not first.path.exists() and store.verify() == []


@pytest.mark.parametrize("tag", ["live", "draft", "pre-rollback-1", "pre-apply-x", "pre-promote-2"])
def test_reserved_tags(tag: str) -> None:
    with pytest.raises(UsageError, match="reserved"):
        check_user_tag(tag)
    assert check_user_tag("v" + tag) == "v" + tag


def test_safety_tags() -> None:
    assert is_safety("pre-apply-20261201T000000Z") and not is_safety("v1-pre-apply")


@pytest.mark.parametrize("damage", ["deleted", "edited"])
def test_a_new_tag_is_not_an_alias_of_content_that_is_gone_or_corrupt(
    store: SnapshotStore, damage: str
) -> None:
    """The tag the user asks for must name usable content (issue 12 item 3). When the newest
    snapshot's DSL file was deleted or edited by hand, an alias of it could never be rolled back to:
    the unchanged export is stored again under the new tag instead."""
    first = save(store, tag="v1")
    if damage == "deleted":
        first.path.unlink()
    else:
        first.path.write_bytes(first.path.read_bytes() + b"# edited\n")
    second = save(store, tag="v2")
    assert second.status == "created" and second.snapshot.alias_of is None
    assert store.load_verified(second.snapshot.app_id, "v2").verified
