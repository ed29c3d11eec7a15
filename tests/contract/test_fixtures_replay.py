"""Replay the wire traffic recorded from real Dify servers against a fresh emulator of each version.

The recordings live in ``tests/contract/recordings/dify-<version>/`` (copied from
``../shared/fixtures/``; a test below notices when the two differ). Each folder is replayed against an
emulator started with ``version=<version>``, on the state the recording starts from (starting_state.py).
Each exchange is sent in recording order with what must differ substituted: app/workflow/import/run
ids, service keys, cookies and CSRF tokens are mapped from the recording to the emulator's own values
as they appear in paired responses. The emulator must answer with the same status, the same JSON shape,
the same values a client acts on (replay.VALUE_KEYS: error code/status/message, import outcomes), the
same X-Version, Content-Type and Set-Cookie names and attributes, and streams must send the same
events in the same order (pings aside) with the same final run status.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from email.utils import parsedate_to_datetime
from pathlib import Path

import httpx
import pytest

from difyctl.emulator import EmulatorServer
from difyctl.emulator.config import SUPPORTED_VERSIONS

from . import starting_state
from .replay import (
    Exchange,
    Replayer,
    cookie_attributes,
    load_exchanges,
    shape_diff,
    sse_frames,
    value_diff,
)

REPO = Path(__file__).resolve().parents[2]
RECORDED = Path(__file__).resolve().parent / "recordings"
SHARED = Path(os.environ.get("DIFYCTL_FIXTURES_DIR") or REPO.parent / "shared" / "fixtures")
RECORDINGS = sorted(p.parent for p in RECORDED.glob("*/INDEX.tsv"))
DATA_SUFFIXES = (".json", ".sse", ".tsv")

# Exchanges the emulator cannot replay yet, per recording, with the reason. This list only ever shrinks.
SKIP: dict[str, dict[str, str]] = {}

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


def version_of(folder: Path) -> str:
    return folder.name.removeprefix("dify-")


class Replay:
    def __init__(self, folder: Path) -> None:
        self.name = folder.name
        self.exchanges = load_exchanges(folder)
        self.skip = SKIP.get(folder.name, {})
        self.clock = RecordedClock()
        self.clock.follow(self.exchanges[0].response.get("headers", {}).get("date"))
        password = _init_password(self.exchanges)
        self.server = EmulatorServer(
            seed=None,
            init_password=password,
            ping_interval=30.0,
            clock=self.clock,
            version=version_of(folder),
        )
        self.client = httpx.Client()

    def __enter__(self) -> Replay:
        self.server.start()
        self.replayer = Replayer(self.server.base_url)
        if starting_state.needs_seed(self.exchanges):
            starting_state.seed(self.server, self.exchanges, self.replayer, self.name)
        return self

    def __exit__(self, *exc: object) -> None:
        self.client.close()
        self.server.stop()

    def check(self, ex: Exchange) -> list[str]:
        recorded = ex.response
        headers = {k.lower(): v for k, v in recorded.get("headers", {}).items()}
        self.clock.follow(headers.get("date"))
        self.client.cookies.clear()  # the recording's Cookie header is the whole truth
        silent = ex.sse is not None and not [f for f in sse_frames(ex.sse) if f is not None]
        received = self.replayer.send(self.client, ex, SILENT_STREAM_READ_TIMEOUT if silent else None)
        self.replayer.learn_cookies(recorded.get("set_cookie") or [], received.set_cookie)
        recorded_version = headers.get("x-version")
        if recorded_version and received.version != recorded_version:
            return [f"X-Version {received.version!r} != recorded {recorded_version!r}"]
        if received.status != recorded["status"]:
            return [f"status {received.status} != recorded {recorded['status']}: {received.body[:300]!r}"]
        problems = []
        if received.content_type != headers.get("content-type"):
            problems.append(
                f"Content-Type {received.content_type!r} != recorded {headers.get('content-type')!r}"
            )
        want_cookies = cookie_attributes(recorded.get("set_cookie") or [])
        got_cookies = cookie_attributes(received.set_cookie)
        if want_cookies != got_cookies:
            problems.append(f"Set-Cookie {got_cookies} != recorded {want_cookies}")
        if ex.sse is not None:
            return problems + self._check_stream(ex.sse, received.body.decode())
        if recorded.get("json") is not None:
            try:
                actual = received.json()
            except ValueError:
                return [*problems, f"not JSON: {received.body[:200]!r}"]
            self.replayer.learn(recorded["json"], actual)
            problems += shape_diff(recorded["json"], actual)
            return problems + value_diff(recorded["json"], actual, self.replayer.substitute)
        raw = recorded.get("body_raw") or ""
        if raw == "" and received.body:
            problems.append(f"expected an empty body, got {received.body[:100]!r}")
        elif raw and received.body.decode(errors="replace") != raw:
            problems.append(f"body {received.body[:100]!r} != recorded {raw[:100]!r}")
        return problems

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
            if want["event"] in ("workflow_finished", "error"):  # the outcome the client acts on
                where = f"$<{want['event']}>"
                problems += value_diff(want, have, self.replayer.substitute, where)
                problems += value_diff(want.get("data"), have.get("data"), self.replayer.substitute, where)
        return problems


@pytest.fixture(scope="module", params=RECORDINGS, ids=lambda p: p.name)
def replay(request: pytest.FixtureRequest) -> Iterator[Replay]:
    with Replay(request.param) as running:
        yield running


def test_every_supported_version_has_recordings() -> None:
    """Each version the emulator speaks is replayed: a version without recordings is a guess."""
    assert [version_of(folder) for folder in RECORDINGS] == list(SUPPORTED_VERSIONS)


@pytest.mark.parametrize("folder", RECORDINGS, ids=lambda p: p.name)
def test_recordings_equal_the_shared_fixtures(folder: Path) -> None:
    """The copy in the repo is the shared recording, file for file (READMEs aside)."""
    shared = SHARED / folder.name
    if not shared.is_dir():
        pytest.skip(f"no {shared} in this checkout")

    def data(where: Path) -> dict[str, bytes]:
        return {p.name: p.read_bytes() for p in sorted(where.iterdir()) if p.suffix in DATA_SUFFIXES}

    ours, theirs = data(folder), data(shared)
    assert sorted(ours) == sorted(theirs), "a recording was added or removed: copy it into the test tree"
    changed = [name for name in ours if ours[name] != theirs[name]]
    assert not changed, f"recordings changed in {shared}: {changed}"


def test_replay_every_exchange_in_order(replay: Replay) -> None:
    failures: dict[str, list[str]] = {}
    replayed = 0
    for ex in replay.exchanges:
        if ex.number in replay.skip:
            continue
        problems = replay.check(ex)
        replayed += 1
        if problems:
            failures[ex.name] = problems
    assert not failures, "\n".join(f"{name}: {'; '.join(p)}" for name, p in failures.items())
    assert replayed == len(replay.exchanges) - len(replay.skip)


def test_skip_list_names_real_exchanges(replay: Replay) -> None:
    numbers = {ex.number for ex in replay.exchanges}
    assert set(replay.skip) <= numbers
    assert all(reason.strip() for reason in replay.skip.values())
    assert set(SKIP) <= {folder.name for folder in RECORDINGS}
