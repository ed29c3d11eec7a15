"""Replay the wire traffic recorded from a real Dify server against a fresh emulator.

Each exchange is sent in recording order (setup, init and login included) with what must differ
substituted: app/workflow/import/run ids, service keys, cookies and CSRF tokens are mapped from the
recording to the emulator's own values as they appear in paired responses. The emulator must answer
with the same status and the same JSON shape; streams must send the same events (pings aside).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from email.utils import parsedate_to_datetime
from pathlib import Path

import httpx
import pytest

from difyctl.emulator import EmulatorServer

from .replay import Exchange, Replayer, load_exchanges, shape_diff, sse_frames

REPO = Path(__file__).resolve().parents[2]
FIXTURES = Path(os.environ.get("DIFYCTL_FIXTURES_DIR") or REPO.parent / "shared" / "fixtures")
RECORDINGS = sorted(p.parent for p in FIXTURES.glob("*/INDEX.tsv")) if FIXTURES.is_dir() else []

# Exchanges the emulator cannot replay yet, with the reason. This list only ever shrinks.
SKIP: dict[str, str] = {}

SILENT_STREAM_READ_TIMEOUT = 0.5


class RecordedClock:
    """The emulator's clock follows the recording's Date headers, so timestamps and orderings match."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now

    def follow(self, date_header: str | None) -> None:
        if date_header:
            self.now = max(self.now, parsedate_to_datetime(date_header).timestamp())


def _init_password(exchanges: list[Exchange]) -> str | None:
    for ex in exchanges:
        req = ex.request
        if req["path"] == "/console/api/init" and req["method"] == "POST" and ex.response["status"] == 201:
            return str(req["body"]["password"])
    return None


class Replay:
    def __init__(self, folder: Path) -> None:
        self.exchanges = load_exchanges(folder)
        self.clock = RecordedClock()
        password = _init_password(self.exchanges)
        self.server = EmulatorServer(seed=None, init_password=password, ping_interval=30.0, clock=self.clock)
        self.client = httpx.Client()

    def __enter__(self) -> Replay:
        self.server.start()
        self.replayer = Replayer(self.server.base_url)
        return self

    def __exit__(self, *exc: object) -> None:
        self.client.close()
        self.server.stop()

    def check(self, ex: Exchange) -> list[str]:
        recorded = ex.response
        self.clock.follow(recorded.get("headers", {}).get("Date"))
        self.client.cookies.clear()  # the recording's Cookie header is the whole truth
        silent = ex.sse is not None and not [f for f in sse_frames(ex.sse) if f is not None]
        received = self.replayer.send(self.client, ex, SILENT_STREAM_READ_TIMEOUT if silent else None)
        self.replayer.learn_cookies(recorded.get("set_cookie") or [], received.set_cookie)
        recorded_version = recorded.get("headers", {}).get("X-Version")
        if recorded_version and received.version != recorded_version:
            return [f"X-Version {received.version!r} != recorded {recorded_version!r}"]
        if received.status != recorded["status"]:
            return [f"status {received.status} != recorded {recorded['status']}: {received.body[:300]!r}"]
        if ex.sse is not None:
            return self._check_stream(ex.sse, received.body.decode())
        if recorded.get("json") is not None:
            try:
                actual = received.json()
            except ValueError:
                return [f"not JSON: {received.body[:200]!r}"]
            self.replayer.learn(recorded["json"], actual)
            return shape_diff(recorded["json"], actual)
        if (recorded.get("body_raw") or "") == "" and received.body:
            return [f"expected an empty body, got {received.body[:100]!r}"]
        return []

    def _check_stream(self, recorded: str, received: str) -> list[str]:
        expected, actual = sse_frames(recorded), sse_frames(received)
        if not actual or actual[0] is not None:
            return ["the stream must start with `event: ping`"]
        names = [f["event"] for f in expected if f is not None]
        got = [f["event"] for f in actual if f is not None]
        if names != got:
            return [f"events {got} != recorded {names}"]
        problems = []
        for want, have in zip((f for f in expected if f), (f for f in actual if f), strict=True):
            self.replayer.learn(want, have)
            problems += shape_diff(want, have, f"$<{want['event']}>")
        return problems


@pytest.fixture(scope="module", params=RECORDINGS, ids=lambda p: p.name)
def replay(request: pytest.FixtureRequest) -> Iterator[Replay]:
    with Replay(request.param) as running:
        yield running


def test_fixtures_folder_is_optional() -> None:
    """Without recordings the replay is skipped, never failed (e.g. a checkout without ../shared)."""
    if not RECORDINGS:
        pytest.skip(f"no recordings under {FIXTURES}")
    assert all((folder / "INDEX.tsv").exists() for folder in RECORDINGS)


def test_replay_every_exchange_in_order(replay: Replay) -> None:
    failures: dict[str, list[str]] = {}
    replayed = 0
    for ex in replay.exchanges:
        if ex.number in SKIP:
            continue
        problems = replay.check(ex)
        replayed += 1
        if problems:
            failures[ex.name] = problems
    assert not failures, "\n".join(f"{name}: {'; '.join(p)}" for name, p in failures.items())
    assert replayed == len(replay.exchanges) - len(SKIP)


def test_skip_list_names_real_exchanges(replay: Replay) -> None:
    numbers = {ex.number for ex in replay.exchanges}
    assert set(SKIP) <= numbers
    assert all(reason.strip() for reason in SKIP.values())
