"""The resolver's console (commands/_targets.py): the app list on the synchronous client in a daemon
thread while the aiohttp transport loads, the key lookups on the async client, opened once."""

from __future__ import annotations

import asyncio
import threading
from typing import Any

import pytest

from difyctl.commands._targets import _Console, off_loop


async def test_off_loop_hands_back_the_value_or_the_exception() -> None:
    assert await off_loop(lambda a, b: a + b, 2, 3) == 5

    def boom() -> None:
        raise ValueError("from the thread")

    with pytest.raises(ValueError, match="from the thread"):
        await off_loop(boom)


async def test_a_cancelled_wait_does_not_wait_for_the_thread() -> None:
    release = threading.Event()
    seen: list[threading.Thread] = []

    def blocked() -> str:
        seen.append(threading.current_thread())
        release.wait(60)  # a request that does not answer
        return "late"

    task = asyncio.create_task(off_loop(blocked))
    while not seen:
        await asyncio.sleep(0)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task  # returns while the thread is still blocked
    assert seen[0].daemon and seen[0].is_alive()  # a daemon: the process exit never joins it
    release.set()
    seen[0].join(60)


class Sync:
    def __init__(self) -> None:
        self.calls: list[tuple[Any, ...]] = []

    def list_apps(self, *args: Any) -> str:
        self.calls.append((threading.current_thread().name, *args))
        return "page"


class Async:
    options = "fan-out options"

    def __init__(self) -> None:
        self.looked_up: list[str] = []

    async def list_api_keys(self, app_id: str) -> list[str]:
        self.looked_up.append(app_id)
        return [f"key-of-{app_id}"]


async def test_the_list_goes_through_the_sync_client_and_the_lookups_through_one_async_client() -> None:
    sync, opened = Sync(), []

    def open_async() -> Async:
        opened.append(Async())
        return opened[-1]

    console = _Console(sync, open_async)
    page: Any = await console.list_apps(2, 100, "workflow", None)
    assert page == "page"
    assert sync.calls == [("difyctl-console", 2, 100, "workflow", None)] and opened == []
    keys: list[Any] = [*await console.list_api_keys("a"), *await console.list_api_keys("b")]
    assert keys == ["key-of-a", "key-of-b"]
    assert console.options == "fan-out options"
    assert len(opened) == 1 and opened[0].looked_up == ["a", "b"]


def test_ctrl_c_during_a_login_on_the_event_loop_stops_it_there(monkeypatch: pytest.MonkeyPatch) -> None:
    # The console logs in (a blocking call) on the event loop's thread. asyncio.run's SIGINT handler
    # only cancels the main task, which a blocking call never sees: `broadcast --all` against a
    # login that hangs ignored Ctrl-C until the login's timeout, then exited 5, not 130.
    import contextlib
    import signal
    from types import SimpleNamespace

    from difyctl.broadcast import pool
    from difyctl.commands._targets import with_resolver

    monkeypatch.setattr(pool, "warm_up", lambda *modules: None)
    went_on: list[str] = []

    def login() -> Any:
        signal.raise_signal(signal.SIGINT)  # Ctrl-C while the login waits for the server
        went_on.append("the login carried on")
        raise AssertionError("not interrupted")

    actx: Any = SimpleNamespace(
        console=login,
        key_policy=lambda: None,
        out=SimpleNamespace(progress=lambda *a: contextlib.nullcontext()),
    )

    async def work(resolver: Any) -> Any:
        return resolver.console

    with pytest.raises(KeyboardInterrupt):
        with_resolver(actx, 4, work)
    assert went_on == []
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler  # left as it was found
