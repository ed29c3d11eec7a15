from __future__ import annotations

import copy
import datetime as dt
from pathlib import Path
from typing import Any

import pytest
import yaml

from difyctl.snapshots.store import SnapshotStore

DATA = Path(__file__).parent / "data"
APP_ID = "a93c04d0-9c35-465c-baea-7c5e735cc823"
SECRET = "fake-local-secret-123"


def load(name: str) -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load((DATA / name).read_text("utf-8"))
    return loaded


class Clock:
    def __init__(self, start: dt.datetime) -> None:
        self.now = start

    def __call__(self) -> dt.datetime:
        return self.now

    def tick(self, **kw: float) -> dt.datetime:
        self.now += dt.timedelta(**kw)
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock(dt.datetime(2026, 11, 21, 10, 45, 12, tzinfo=dt.timezone.utc))


@pytest.fixture
def store(tmp_path: Path, clock: Clock) -> SnapshotStore:
    return SnapshotStore(tmp_path / "snapshots", clock=clock)


@pytest.fixture
def v1() -> dict[str, Any]:
    """echo-workflow as exported with include_secret (fixture 061)."""
    return load("echo-workflow-secret.yml")


@pytest.fixture
def v2(v1: dict[str, Any]) -> dict[str, Any]:
    """v1 with a renamed output, a new LLM node, a changed env var (the secret value unchanged)."""
    doc = copy.deepcopy(v1)
    graph = doc["workflow"]["graph"]
    end = next(n for n in graph["nodes"] if n["id"] == "end")
    end["data"]["outputs"][0]["variable"] = "echo_v2"
    graph["nodes"].append(
        {
            "id": "llm",
            "type": "custom",
            "position": {"x": 1, "y": 2},
            "width": 244,
            "height": 90,
            "data": {
                "title": "LLM",
                "type": "llm",
                "selected": True,
                "model": {
                    "provider": "openai",
                    "name": "gpt-4o",
                    "mode": "chat",
                    "completion_params": {"temperature": 0.7},
                },
                "prompt_template": [{"role": "system", "text": "You are terse."}],
            },
        }
    )
    graph["edges"].append(
        {
            "id": "start-llm",
            "source": "start",
            "target": "llm",
            "sourceHandle": "source",
            "targetHandle": "target",
            "type": "custom",
            "data": {},
        }
    )
    doc["workflow"]["environment_variables"][0]["value"] = "hello-v2"
    return doc
