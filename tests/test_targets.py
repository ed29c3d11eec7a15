"""The one resolver (difyctl/targets.py): precedence, newest key, concurrency, failures, pages, retries."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Mapping
from typing import Any

import httpx
import pytest

from difyctl.client.errors import DifyError, ServerError
from difyctl.client.models import ApiKey, App, AppPage
from difyctl.errors import AppNotFoundError, UsageError
from difyctl.targets import NO_KEY, KeyPolicy, Resolver, list_all_apps, match_ref, newest_key

BASE = "http://dify.test"
UUID = "0b5e0b3c-1111-4c3b-9a31-3f9f0a6f2a01"


def app(i: int, name: str | None = None) -> App:
    return App(id=f"app-{i:04d}", name=name or f"app {i}", mode="chat")


class FakeConsole:
    """Apps in pages of `limit`, keys per app; counts requests in flight and yields between steps."""

    def __init__(self, apps: list[App], keys: Mapping[str, list[ApiKey] | Exception] | None = None) -> None:
        self.apps = apps
        self.keys = dict(keys or {})
        self.in_flight = 0
        self.max_in_flight = 0
        self.pages: list[int] = []
        self.lookups: list[str] = []

    async def _busy(self) -> None:
        self.in_flight += 1
        self.max_in_flight = max(self.max_in_flight, self.in_flight)
        for _ in range(3):
            await asyncio.sleep(0)
        self.in_flight -= 1

    async def list_apps(
        self, page: int = 1, limit: int = 100, mode: str | None = None, name: str | None = None
    ) -> AppPage:
        self.pages.append(page)
        await self._busy()
        rows = [a for a in self.apps if mode is None or a.mode == mode]
        items = tuple(rows[(page - 1) * limit : page * limit])
        return AppPage(items, page, limit, len(rows), page * limit < len(rows))

    async def list_api_keys(self, app_id: str) -> list[ApiKey]:
        self.lookups.append(app_id)
        await self._busy()
        found = self.keys.get(app_id, [ApiKey(f"k-{app_id}", f"app-console-{app_id}", created_at=1)])
        if isinstance(found, Exception):
            raise found
        return found


def policy(
    env: Mapping[str, str] | None = None, stored: Mapping[str, str] | None = None, /, **aliases: str
) -> KeyPolicy:
    keyring = dict(stored or {})
    return KeyPolicy(BASE, dict(env or {}), aliases, keyring.get)


def resolve_all(console: FakeConsole, pol: KeyPolicy, concurrency: int = 8, **kw: Any) -> Any:
    return asyncio.run(Resolver(pol, lambda: console, concurrency=concurrency, **kw).all_apps())


def test_newest_key_wins_whatever_the_listing_order() -> None:
    keys = [
        ApiKey("a", "old", created_at=10),
        ApiKey("b", "new", created_at=30),
        ApiKey("c", "mid", created_at=20),
    ]
    assert newest_key(keys) == keys[1]
    assert newest_key([]) is None
    console = FakeConsole([app(1)], {"app-0001": keys})
    assert resolve_all(console, policy())[0].api_key == "new"


def test_precedence_env_over_keyring_over_console() -> None:
    apps = [app(1, "one"), app(2, "two"), app(3, "three")]
    console = FakeConsole(apps)
    pol = policy(
        {"DIFY_API_KEY_BOT_TWO": "app-env-two", "DIFY_API_KEY": "app-single"},
        {"app-0002": "app-stored-two", "app-0003": "app-stored-three"},
        **{"bot-two": "app-0002"},
    )
    found = {r.name: (r.api_key, r.key_source) for r in resolve_all(console, pol)}
    assert found == {
        "one": ("app-console-app-0001", "console"),  # DIFY_API_KEY is for one targeted app, not --all
        "two": ("app-env-two", "env:DIFY_API_KEY_BOT_TWO"),  # the alias's variable beats the keyring
        "three": ("app-stored-three", "stored"),
    }
    assert console.lookups == ["app-0001"]  # only the app with no key elsewhere asks the console


def test_one_ref_with_its_key_in_the_environment_never_opens_the_console() -> None:
    def refuse() -> Any:
        raise AssertionError("the console was opened")

    pol = policy({"DIFY_API_KEY": "app-single"})
    [one] = asyncio.run(Resolver(pol, refuse).refs(["support-bot"]))
    assert (one.api_key, one.key_source, one.mode) == ("app-single", "env:DIFY_API_KEY", None)


def test_refs_are_matched_by_alias_id_and_name_in_one_listing() -> None:
    apps = [app(i) for i in range(1, 251)]
    console = FakeConsole(apps)
    pol = policy(bot="app-0007")
    found = asyncio.run(Resolver(pol, lambda: console).refs(["bot", "app-0200", "app 3"]))
    assert [r.app_id for r in found] == ["app-0007", "app-0200", "app-0003"]
    assert [r.ref for r in found] == ["bot", "app-0200", "app 3"]
    assert sorted(console.pages) == [1, 2, 3]


@pytest.mark.parametrize(
    ("ref", "aliases", "error", "needle"),
    [
        ("gone", {"gone": UUID}, AppNotFoundError, "points to a deleted app"),
        ("app 12", {}, AppNotFoundError, "app 1"),
        ("twin", {}, UsageError, "2 apps are named 'twin'"),
    ],
)
def test_unknown_or_ambiguous_refs(
    ref: str, aliases: dict[str, str], error: type[Exception], needle: str
) -> None:
    apps = [app(1), app(2, "twin"), app(3, "twin")]
    with pytest.raises(error) as info:
        match_ref(apps, ref, policy(**aliases))
    assert needle in str(getattr(info.value, "message", info.value)) + str(getattr(info.value, "hint", ""))


def test_lookups_run_concurrently_under_the_concurrency() -> None:
    console = FakeConsole([app(i) for i in range(1, 41)])
    ticks: list[tuple[int, int]] = []
    found = resolve_all(console, policy(), concurrency=5, progress=lambda d, t: ticks.append((d, t)))
    assert len(found) == 40 and all(r.key_source == "console" for r in found)
    assert console.max_in_flight == 5  # concurrent (not 1), and never more than asked
    assert ticks[-1] == (40, 40) and [d for d, _ in ticks] == list(range(1, 41))


def test_list_pages_are_fetched_concurrently_once_the_total_is_known() -> None:
    console = FakeConsole([app(i) for i in range(1, 451)])
    apps = asyncio.run(list_all_apps(console, concurrency=8))
    assert [a.id for a in apps] == [f"app-{i:04d}" for i in range(1, 451)]
    assert console.pages[0] == 1 and sorted(console.pages[1:]) == [2, 3, 4, 5]
    assert console.max_in_flight == 4  # pages 2..5 together


def test_a_failed_lookup_fails_only_its_target_and_is_never_called_no_key() -> None:
    body = {"code": "internal_server_error", "message": "boom", "status": 500}
    failure = ServerError(
        "Internal Server Error: boom", status_code=500, code="internal_server_error", body=body
    )
    console = FakeConsole([app(1), app(2), app(3)], {"app-0002": failure, "app-0003": []})
    found = {r.app_id: r for r in resolve_all(console, policy())}
    assert found["app-0001"].error is None and found["app-0001"].api_key
    assert found["app-0002"].status == 500 and found["app-0002"].api_key == ""
    assert found["app-0002"].error is not None and found["app-0002"].error.startswith(
        "key lookup failed: HTTP 500"
    )
    assert "boom" in found["app-0002"].error and NO_KEY not in found["app-0002"].error
    assert found["app-0003"].error == NO_KEY and found["app-0003"].status is None


def test_a_connection_failure_has_no_status_but_still_says_lookup_failed() -> None:
    console = FakeConsole([app(1)], {"app-0001": DifyError("cannot connect to http://dify.test")})
    [one] = resolve_all(console, policy())
    assert one.error == "key lookup failed: cannot connect to http://dify.test" and one.status is None


def test_each_lookup_is_retried_like_any_get() -> None:
    """Through the real AsyncConsoleClient: a 500 then a 200 on one app's keys -> resolved, one backoff."""
    from difyctl.client.console import AsyncConsoleClient
    from difyctl.client.transport import ClientOptions, Runtime

    hits: dict[str, int] = {}

    def handler(request: httpx.Request) -> httpx.Response:
        path = request.url.path
        hits[path] = hits.get(path, 0) + 1
        if path.endswith("/apps"):
            data = [
                {"id": "app-0001", "name": "one", "mode": "chat"},
                {"id": "app-0002", "name": "two", "mode": "chat"},
            ]
            return httpx.Response(
                200, json={"data": data, "page": 1, "limit": 100, "total": 2, "has_more": False}
            )
        if path.endswith("app-0002/api-keys") and hits[path] == 1:
            return httpx.Response(500, json={"code": "internal_server_error", "message": "x", "status": 500})
        app_id = path.split("/")[-2]
        return httpx.Response(
            200, content=json.dumps({"data": [{"id": "k", "token": f"app-{app_id}", "created_at": 1}]})
        )

    sleeps: list[float] = []

    async def asleep(s: float) -> None:
        sleeps.append(s)

    async def go() -> Any:
        options = ClientOptions(async_transport=httpx.MockTransport(handler))
        async with AsyncConsoleClient(BASE, None, options, Runtime(asleep=asleep, rng=lambda: 0.5)) as client:
            return await Resolver(policy(), lambda: client).all_apps()

    found = asyncio.run(go())
    assert [r.api_key for r in found] == ["app-app-0001", "app-app-0002"]
    assert hits["/console/api/apps/app-0002/api-keys"] == 2 and len(sleeps) == 1


@pytest.mark.parametrize(("count", "pages"), [(450, [1, 2, 3, 4, 5]), (150, [1, 2]), (60, [1, 2])])
def test_the_resolver_asks_page_two_together_with_page_one(count: int, pages: list[int]) -> None:
    """One round trip less for a workspace of more than one page; every app once, in order."""
    console = FakeConsole([app(i) for i in range(1, count + 1)])
    found = resolve_all(console, policy())
    assert [r.app_id for r in found] == [f"app-{i:04d}" for i in range(1, count + 1)]
    assert console.pages[:2] == [1, 2] and sorted(console.pages) == pages
    assert console.max_in_flight >= 2  # pages 1 and 2 were in flight together


def test_a_server_that_does_not_count_is_read_page_after_page_with_the_early_page() -> None:
    class Uncounted(FakeConsole):
        async def list_apps(
            self, page: int = 1, limit: int = 100, mode: str | None = None, name: str | None = None
        ) -> AppPage:
            full = await super().list_apps(page, limit, mode, name)
            return AppPage(full.items, page, limit, len(full.items), full.has_more)

    console = Uncounted([app(i) for i in range(1, 251)])
    apps = asyncio.run(list_all_apps(console, ahead=1))
    assert [a.id for a in apps] == [f"app-{i:04d}" for i in range(1, 251)]
    assert console.pages == [1, 2, 3]  # page 2 asked once, not again


class _EarlyPageFails(FakeConsole):
    """Every attempt at page 2 fails (5xx after the client's retries)."""

    async def list_apps(
        self, page: int = 1, limit: int = 100, mode: str | None = None, name: str | None = None
    ) -> AppPage:
        full = await super().list_apps(page, limit, mode, name)
        if page == 2:
            raise ServerError("Internal Server Error", status_code=500, code="internal_server_error")
        return full


def test_a_failed_early_page_that_was_not_needed_does_not_fail_the_listing() -> None:
    """Page 2 is asked for with page 1 before the total is known (`ahead`): in a workspace of one page
    its failure must not abort the command (console --error-rate 0.5: one `health --all` in four
    exited 5 on a page it never needed). In a workspace that has a page 2, it still does."""
    small = _EarlyPageFails([app(i) for i in range(1, 61)])
    apps = asyncio.run(list_all_apps(small, ahead=1))
    assert [a.id for a in apps] == [f"app-{i:04d}" for i in range(1, 61)] and small.pages == [1, 2]
    with pytest.raises(ServerError):
        asyncio.run(list_all_apps(_EarlyPageFails([app(i) for i in range(1, 151)]), ahead=1))
