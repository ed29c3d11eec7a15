from __future__ import annotations

import asyncio
import copy
from pathlib import Path
from typing import Any

import pytest

from difyctl.client.errors import DifyConnectionError
from difyctl.client.models import App
from difyctl.errors import UsageError
from difyctl.snapshots.dsl import content_hash, dump_dsl
from difyctl.snapshots.ops import (
    SnapshotOptions,
    default_diff_refs,
    export_workflow_id,
    resolve_side,
    snapshot_all,
)
from difyctl.snapshots.store import SaveResult, SnapshotStore
from tests.snapshots.conftest import APP_ID, SECRET, Clock
from tests.snapshots.fakes import FakeConsole


class AsyncFake:
    """The fake console behind an async face, counting requests in flight."""

    def __init__(self, fake: FakeConsole) -> None:
        self.fake = fake
        self.in_flight = 0
        self.peak = 0

    async def export_dsl(
        self, app_id: str, include_secret: bool = False, workflow_id: str | None = None
    ) -> str:
        self.in_flight += 1
        self.peak = max(self.peak, self.in_flight)
        try:
            for _ in range(3):
                await asyncio.sleep(0)  # yield: let the others start
            return self.fake.export_dsl(app_id, include_secret=include_secret, workflow_id=workflow_id)
        finally:
            self.in_flight -= 1


def snapshot_app(fake: FakeConsole, store: SnapshotStore, app: App, opts: SnapshotOptions) -> SaveResult:
    """One app through the engine of `snapshot create` (snapshot_all), over the sync fake."""
    outcome = asyncio.run(snapshot_all(AsyncFake(fake), store, [app], opts))[0]
    assert outcome.result is not None, outcome.error
    return outcome.result


@pytest.fixture
def fake(v1: dict[str, Any], v2: dict[str, Any]) -> FakeConsole:
    fake = FakeConsole()
    fake.add_app(v1, APP_ID)
    fake._store(fake.apps[APP_ID], v2)  # an unpublished edit in the draft
    return fake


def test_export_workflow_id() -> None:
    assert export_workflow_id(App("a", "n", "workflow", published_workflow_id="w")) == "w"
    assert export_workflow_id(App("a", "n", "workflow", published_workflow_id="w"), draft=True) is None
    assert export_workflow_id(App("a", "n", "chat", published_workflow_id="w")) is None


def test_snapshot_app_takes_the_published_workflow_by_default(
    fake: FakeConsole, store: SnapshotStore, v1: dict[str, Any], v2: dict[str, Any], clock: Clock
) -> None:
    app = fake.get_app(APP_ID)
    published = snapshot_app(fake, store, app, SnapshotOptions(tag="v1", message="release"))
    assert published.created and published.snapshot.workflow_id == app.published_workflow_id
    assert not published.snapshot.draft and published.snapshot.content_hash == content_hash(v1)
    assert SECRET not in published.path.read_text()
    again = snapshot_app(fake, store, app, SnapshotOptions())
    assert again.status == "unchanged" and again.snapshot.tag == "v1"
    clock.tick(seconds=1)
    draft = snapshot_app(fake, store, app, SnapshotOptions(draft=True))
    assert draft.created and draft.snapshot.draft and draft.snapshot.content_hash == content_hash(v2)
    secret = snapshot_app(fake, store, app, SnapshotOptions(include_secret=True, draft=True))
    assert secret.created and SECRET in secret.path.read_text()


async def test_snapshot_all_bounded_concurrency_errors_as_data(
    fake: FakeConsole, store: SnapshotStore, v1: dict[str, Any]
) -> None:
    apps = [fake.get_app(APP_ID)]
    for i in range(11):
        doc = copy.deepcopy(v1)
        doc["app"]["name"] = f"app {i} / 🤖"
        fake.add_app(doc, f"{i:08d}-app")
        apps.append(fake.get_app(f"{i:08d}-app"))
    apps.append(App("missing-app", "ghost", "workflow", published_workflow_id="wf-x"))
    fake.inject("export_dsl", DifyConnectionError("reset"), call=2)
    aconsole = AsyncFake(fake)
    outcomes = await snapshot_all(aconsole, store, apps, SnapshotOptions(tag="v2.4.0"), concurrency=4)
    assert aconsole.peak == 4
    assert [o.ok for o in outcomes].count(False) == 2
    assert {o.error for o in outcomes if not o.ok} == {"reset", "App not found"}
    assert all(o.result.snapshot.tag == "v2.4.0" for o in outcomes if o.result)
    assert len(store.app_dirs()) == 11 and store.verify() == []
    assert outcomes[-1].to_dict() == {
        "app_id": "missing-app",
        "app_name": "ghost",
        "app_mode": "workflow",
        "ok": False,
        "error": "App not found",
    }
    with pytest.raises(UsageError):
        await snapshot_all(aconsole, store, apps, SnapshotOptions(), concurrency=0)


async def test_snapshot_all_lists_the_store_once(
    fake: FakeConsole, store: SnapshotStore, v1: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each save looked for its app's folder by listing the whole store: O(apps^2) for the run."""
    apps = []
    for i in range(6):
        doc = copy.deepcopy(v1)
        doc["app"]["name"] = f"app {i}"
        fake.add_app(doc, f"{i:08d}-app")
        apps.append(fake.get_app(f"{i:08d}-app"))
    listings: list[Path] = []
    real = SnapshotStore._list_folders

    def spy(self: SnapshotStore) -> list[str]:
        listings.append(self.root)
        return real(self)

    monkeypatch.setattr(SnapshotStore, "_list_folders", spy)
    outcomes = await snapshot_all(AsyncFake(fake), store, apps, SnapshotOptions(), concurrency=3)
    assert [o.result.status for o in outcomes if o.result] == ["created"] * 6
    assert listings == [store.root]


def test_resolve_sides(
    fake: FakeConsole, store: SnapshotStore, tmp_path: Path, v1: dict[str, Any], v2: dict[str, Any]
) -> None:
    app = fake.get_app(APP_ID)
    snapshot_app(fake, store, app, SnapshotOptions(tag="v1"))
    live = resolve_side("live", store=store, app_ref=APP_ID, console=fake, app=app)
    draft = resolve_side("draft", store=store, app_ref=APP_ID, console=fake, app=app)
    tag = resolve_side("v1", store=store, app_ref=APP_ID)
    assert content_hash(live.doc) == content_hash(v1) == content_hash(tag.doc)
    assert content_hash(draft.doc) == content_hash(v2)
    path = tmp_path / "candidate.yml"
    path.write_text(dump_dsl(v2))
    assert content_hash(resolve_side(str(path), store=store, app_ref=APP_ID).doc) == content_hash(v2)
    path.write_text("app: [unclosed")
    with pytest.raises(UsageError, match="candidate.yml: malformed YAML at line 1"):
        resolve_side(str(path), store=store, app_ref=APP_ID)
    with pytest.raises(UsageError, match="needs a connection"):
        resolve_side("live", store=store, app_ref=APP_ID)
    edited = store.path_of(store.get(APP_ID, "v1"))
    edited.write_text(edited.read_text().replace("hello-env", "x"))
    assert resolve_side("v1", store=store, app_ref=APP_ID).verified is False
    assert default_diff_refs(store, APP_ID, None, None) == ("v1", "live")
    assert default_diff_refs(store, APP_ID, "a", "draft") == ("a", "draft")
