"""From the CLI's AppContext to the one resolver (`difyctl/targets.py`): its key policy, its console
(an AsyncConsoleClient over the striped fan-out transport) and a spinner with a count on a terminal."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable, Mapping, Sequence
from contextlib import ExitStack
from typing import TYPE_CHECKING, Any, TypeVar

from difyctl.errors import NotLoggedInError, UsageError
from difyctl.targets import ResolvedApp, Resolver

if TYPE_CHECKING:
    from difyctl.broadcast.targets import Entry, Target
    from difyctl.client.errors import DifyError
    from difyctl.client.models import ApiKey, App, AppPage
    from difyctl.context import AppContext

T = TypeVar("T")


def with_resolver(
    actx: AppContext, concurrency: int, work: Callable[[Resolver], Awaitable[T]], *, refs: Sequence[str] = ()
) -> T:
    """Run `work(resolver)` on one event loop with a spinner; the console opens on first use."""
    from difyctl.broadcast.pool import fanout_options, warm_up
    from difyctl.client.console import AsyncConsoleClient

    opened: list[Any] = []

    def console() -> _Console:
        if refs and actx.console_auth_kind() == "none":
            from difyctl.config import alias_env_name

            ref = next(iter(refs))
            raise NotLoggedInError(
                f"no service API key for app {ref!r}",
                hint=f"set {alias_env_name(ref)} or DIFY_API_KEY, run `difyctl keys set {ref} --stdin`, "
                "or `difyctl login` to use the app's existing key",
            )
        warm_up()  # the fan-out's modules load while the console logs in and lists the apps
        sync = _interruptible(actx.console)  # logs in (env password) or loads the session once
        opened.append(sync)

        def fan_out_client() -> AsyncConsoleClient:
            options = fanout_options(actx.client_options(), concurrency)
            client = AsyncConsoleClient(sync.base_url, sync.auth, options, actx.get_runtime())
            opened.append(client)
            return client

        return _Console(sync, fan_out_client)

    async def go(spinner: _Spinner) -> T:
        resolver = Resolver(actx.key_policy(), console, concurrency=concurrency, progress=spinner.tick)
        resolver.end_progress = spinner.close
        try:
            return await work(resolver)
        finally:
            for client in opened:
                await client.aclose() if isinstance(client, AsyncConsoleClient) else client.close()

    with _Spinner(actx) as spinner:
        return asyncio.run(go(spinner))


def _interruptible(blocking: Callable[[], T]) -> T:
    """`blocking()` on the event loop's thread with Ctrl-C raising KeyboardInterrupt inside it:
    asyncio.run's own SIGINT handler only cancels the main task, which a blocking call never sees
    (a login that hangs held Ctrl-C until its timeout, then exited 5)."""
    import signal
    import threading

    previous = signal.getsignal(signal.SIGINT)
    if threading.current_thread() is not threading.main_thread() or previous is None:
        return blocking()
    signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        return blocking()
    finally:
        signal.signal(signal.SIGINT, previous)


class SyncListing:
    """`list_all_apps`'s reader over a synchronous console client, each page in a daemon thread: the
    client's transport is loaded already (by the login or a stored session), so the list goes out
    while the warm-up thread still loads the aiohttp transport the fan-out after it needs (~0.1-0.2 s
    of imports that otherwise sat before the first page when no login wait hid them)."""

    def __init__(self, sync: Any) -> None:
        self.sync = sync

    async def list_apps(
        self, page: int = 1, limit: int = 100, mode: str | None = None, name: str | None = None
    ) -> AppPage:
        result: AppPage = await off_loop(self.sync.list_apps, page, limit, mode, name)
        return result


class _Console(SyncListing):
    """The resolver's console: the app list as `SyncListing`, the key lookups (and every fan-out
    after) through the async client on the aiohttp transport, opened once; broadcast reuses its
    connections (`options.async_transport`)."""

    def __init__(self, sync: Any, fan_out_client: Callable[[], Any]) -> None:
        super().__init__(sync)
        self._open = fan_out_client
        self._async: Any = None

    @property
    def fan_out(self) -> Any:
        if self._async is None:
            self._async = self._open()
        return self._async

    @property
    def options(self) -> Any:
        return self.fan_out.options

    async def list_api_keys(self, app_id: str) -> list[ApiKey]:
        result: list[ApiKey] = await self.fan_out.list_api_keys(app_id)
        return result


async def off_loop(fn: Callable[..., T], *args: Any) -> T:
    """`fn(*args)` in a daemon thread: unlike the loop's default executor, a Ctrl-C never waits for a
    request still in flight there (asyncio.run joins the executor; the process exit joins non-daemon
    threads), and the request keeps its own deadline."""
    import threading

    loop = asyncio.get_running_loop()
    future: asyncio.Future[T] = loop.create_future()

    def settle(result: Any, exc: BaseException | None) -> None:
        if future.cancelled():
            return
        if exc is not None:
            future.set_exception(exc)
        else:
            future.set_result(result)

    def run() -> None:
        try:
            result, exc = fn(*args), None
        except BaseException as error:  # noqa: BLE001 - handed to the awaiting task as it is
            result, exc = None, error
        with contextlib.suppress(RuntimeError):  # the loop closed meanwhile (Ctrl-C): nobody waits
            loop.call_soon_threadsafe(settle, result, exc)

    threading.Thread(target=run, name="difyctl-console", daemon=True).start()
    return await future


class _Spinner:
    """ "resolving N apps ... k/N" on a terminal, until the resolution ends or the work closes it
    (broadcast --all: its live table takes over once the apps are listed)."""

    def __init__(self, actx: AppContext) -> None:
        self._stack = ExitStack()
        self._bar: Any = self._stack.enter_context(actx.out.progress(None, "resolving apps"))

    def tick(self, done: int, total: int) -> None:
        if self._bar is not None:
            self._bar.advance(label=f"resolving {total} apps ... {done}/{total}")

    def close(self) -> None:
        self._bar = None
        self._stack.close()

    def __enter__(self) -> _Spinner:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def resolve(
    actx: AppContext,
    *,
    refs: Sequence[str] = (),
    all_apps: bool = False,
    mode: str | None = None,
    concurrency: int = 8,
) -> list[ResolvedApp]:
    """The targets of a fan-out command, every key read (flag > env > keyring > console)."""
    if all_apps:
        return with_resolver(actx, concurrency, lambda r: r.all_apps(mode))
    return with_resolver(actx, concurrency, lambda r: r.refs(refs), refs=refs)


def broadcast_targets(
    actx: AppContext,
    *,
    apps: Sequence[str] = (),
    entries: Sequence[Entry] = (),
    all_apps: bool = False,
    mode: str | None = None,
    inputs: Mapping[str, Any] | None = None,
    concurrency: int = 8,
) -> list[Target]:
    """broadcast's targets from exactly one source; an apps-file's `key_env` is the flag (beats all)."""
    from difyctl.broadcast.targets import check_sources, from_resolved

    check_sources(apps, entries, all_apps, mode)
    base = dict(inputs or {})
    if all_apps or apps:
        found = resolve(actx, refs=apps, all_apps=all_apps, mode=mode, concurrency=concurrency)
        if not found:
            raise UsageError(f"no apps{f' of mode {mode}' if mode else ''} in this workspace")
        return [from_resolved(a, base) for a in found]
    targets: dict[int, Target] = {}
    by_profile: dict[str | None, list[tuple[int, Entry]]] = {}
    for i, entry in enumerate(entries):
        if entry.key_env:
            targets[i] = _flag_target(actx, entry, base)
        else:
            by_profile.setdefault(entry.profile, []).append((i, entry))
    for profile, group in by_profile.items():
        ctx = actx.with_options(output=None, profile=profile, verbose=False) if profile else actx
        found = resolve(ctx, refs=[e.app for _, e in group], concurrency=concurrency)
        for (i, e), app in zip(group, found, strict=True):
            targets[i] = from_resolved(app, {**base, **e.inputs}, name=e.name, mode=e.mode, profile=e.profile)
    return [targets[i] for i in range(len(entries))]


def _flag_target(actx: AppContext, entry: Entry, inputs: Mapping[str, Any]) -> Target:
    from difyctl.broadcast.targets import Target
    from difyctl.config import normalise_base_url

    ctx = actx.with_options(output=None, profile=entry.profile, verbose=False) if entry.profile else actx
    key = actx.env.get(entry.key_env or "")
    if not key:
        raise UsageError(f"line {entry.line}: environment variable {entry.key_env} is not set (key_env)")
    base_url = normalise_base_url(entry.base_url) if entry.base_url else ctx.profile().base_url
    app_id = ctx.profile().apps.get(entry.app) if not entry.base_url else None
    merged = {**inputs, **entry.inputs}
    name = entry.name or entry.app
    return Target(entry.app, name, base_url, key, merged, entry.mode, entry.profile, app_id)


def console_apps(
    actx: AppContext, *, with_keys: bool, concurrency: int = 8
) -> list[tuple[App, list[ApiKey] | DifyError | None]]:
    """Every app of the workspace (pages fetched concurrently) and, `with_keys`, each app's keys or
    the error of its lookup (`keys rotate --all`, which must tell "no key" from "lookup failed")."""
    from difyctl.targets import list_all_apps

    async def work(resolver: Resolver) -> list[tuple[App, list[ApiKey] | DifyError | None]]:
        apps = await list_all_apps(resolver.console, concurrency=concurrency, ahead=1)
        found = await resolver.lookup_keys([a.id for a in apps]) if with_keys else {}
        return [(a, found.get(a.id)) for a in apps]

    return with_resolver(actx, concurrency, work)
