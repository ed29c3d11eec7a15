"""Persistence: --state FILE is written atomically after every mutation and loaded at start."""

from __future__ import annotations

import json
from pathlib import Path

from difyctl.emulator import EmulatorServer

from .helpers import logged_in, svc


def test_state_file_round_trip(tmp_path: Path) -> None:
    path = tmp_path / "state" / "emulator.json"
    with EmulatorServer(state_file=path, apps=1) as first, logged_in(first.base_url) as console:
        app_id = first.app_id("echo-workflow")
        key = console.post(f"/apps/{app_id}/api-keys").json()["token"]
        created = console.post("/apps", json={"name": "persisted", "mode": "chat"}).json()
        published = first.state.get_app(app_id).workflow_id  # type: ignore[union-attr]
        cookies = dict(console.http.cookies)
    data = json.loads(path.read_text())
    assert data["format"] == 1 and len(data["apps"]) == 6
    assert [p.name for p in path.parent.iterdir()] == ["emulator.json"]
    with EmulatorServer(state_file=path, seed="demo") as second, logged_in(second.base_url) as console:
        assert svc(second.base_url, key, "GET", "/info").json()["name"] == "echo-workflow"
        assert console.get(f"/apps/{created['id']}").json()["name"] == "persisted"
        assert second.state.get_app(app_id).workflow_id == published  # type: ignore[union-attr]
        assert console.get("/apps").json()["total"] == 6
        header = "; ".join(f"{k}={v}" for k, v in cookies.items())
        kept = console.http.get(
            "/console/api/apps", headers={"Cookie": header, "X-CSRF-Token": cookies["csrf_token"]}
        )
        assert kept.status_code == 200, "an access token survives a restart with --state"
        body = {"inputs": {"query": "back"}, "user": "u"}
        run = svc(second.base_url, key, "POST", "/workflows/run", json=body).json()
        assert run["data"]["outputs"] == {"result": "back"}


def test_seed_none_starts_empty() -> None:
    with EmulatorServer(seed=None) as server:
        assert server.demo_keys() == {}
        assert not server.state.is_setup
