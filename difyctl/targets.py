"""Targets: "these apps / --all" -> apps with service keys, resolved ONCE, before any fan-out.

Used by broadcast, health, `keys rotate --all` and `snapshot create --all` (the commands wire it in
`difyctl/commands/_targets.py`; nothing here knows the CLI's AppContext).

The key policy, in one place (DESIGN.md: a flag beats the environment, which beats the keyring):
  1. a flag (broadcast's apps-file `key_env`: handled by the caller, which then skips this module);
  2. the environment: `DIFY_API_KEY_<ALIAS>` (the profile alias, else the reference as given), and
     `DIFY_API_KEY` when exactly one app is targeted;
  3. the keyring (the key `keys set/create --store` kept for the app);
  4. the console: the app's NEWEST existing key (`newest_key`). A key is never created here.

Console traffic is concurrent: the first page of the app list gives the total, the other pages are
fetched together; the key lookups run together under the command's concurrency, each a GET retried
like any other. A lookup that still fails fails only its own target (`error` + the lookup's HTTP
status and message); it is never reported as "no key", which is kept for an app that really has none.
"""

from __future__ import annotations

import asyncio
import difflib
import math
import re
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol

from difyctl.client.errors import DifyError
from difyctl.config import alias_env_name
from difyctl.errors import AppNotFoundError, UsageError

if TYPE_CHECKING:
    from difyctl.client.models import ApiKey, App, AppPage

PAGE_LIMIT = 100
NO_KEY = "the app has no service API key"
_UUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")


class AppLister(Protocol):
    """What listing the apps reads (`list_all_apps`)."""

    async def list_apps(
        self, page: int = 1, limit: int = 100, mode: str | None = None, name: str | None = None
    ) -> AppPage: ...


class ConsoleReader(AppLister, Protocol):
    """What the resolver reads from the console (AsyncConsoleClient, or a fake in tests)."""

    async def list_api_keys(self, app_id: str) -> list[ApiKey]: ...


Progress = Callable[[int, int], None]  # (done, total) after each key lookup


def newest_key(keys: Sequence[ApiKey]) -> ApiKey | None:
    """The key in use when nothing else says so: the newest one (creation time, ties: last listed)."""
    return max(keys, key=lambda k: k.created_at or 0) if keys else None


def looks_like_uuid(ref: str) -> bool:
    return _UUID.fullmatch(ref) is not None


@dataclass(frozen=True)
class KeyPolicy:
    """Where keys come from before the console: the environment and the keyring of one profile."""

    base_url: str
    env: Mapping[str, str]
    aliases: Mapping[str, str]  # profile alias -> app id
    stored: Callable[[str], str | None]  # app id -> the keyring's key

    def app_id_of(self, ref: str) -> str | None:
        """An app id known without the console: a profile alias or an id."""
        return self.aliases.get(ref) or (ref if looks_like_uuid(ref) else None)

    def from_env(self, names: Sequence[str], single: bool) -> tuple[str, str] | None:
        """(key, source) from DIFY_API_KEY_<NAME> for any of `names`, then DIFY_API_KEY (one app only)."""
        candidates = [alias_env_name(n) for n in names if n]
        if single:
            candidates.append("DIFY_API_KEY")
        for var in candidates:
            if self.env.get(var):
                return self.env[var], f"env:{var}"
        return None

    def known(self, names: Sequence[str], app_id: str | None, single: bool) -> tuple[str, str] | None:
        """Steps 2 and 3 of the policy: a key without asking the console, or None."""
        found = self.from_env(names, single)
        if found is None and app_id:
            key = self.stored(app_id)
            found = (key, "stored") if key else None
        return found

    def alias_of(self, app_id: str) -> str | None:
        return next((alias for alias, known in self.aliases.items() if known == app_id), None)


@dataclass(frozen=True)
class ResolvedApp:
    """One target: its key and where the key came from, or why it has none (never sent then)."""

    ref: str  # as given (id, name, alias), the app name with --all
    name: str
    base_url: str
    api_key: str = field(default="", repr=False)
    key_source: str = ""  # env:<VAR> | stored | console
    app_id: str | None = None
    mode: str | None = None  # known when the console listed the app: callers may skip /v1/info
    error: str | None = None
    status: int | None = None  # the HTTP status of a failed key lookup
    exit_code: int | None = None  # what the failed lookup means for the process (4 refused, 5 unreachable)


async def list_all_apps(
    client: AppLister, *, mode: str | None = None, concurrency: int = 8, ahead: int = 0
) -> list[App]:
    """Every app: page 1 gives the total, the other pages are fetched concurrently. `ahead` pages are
    asked for together with page 1, before the total is known: one round trip less when the
    workspace has more than one page, one empty page more when it has not (the resolver asks 1)."""
    slot = asyncio.Semaphore(max(concurrency, 1))

    async def one(number: int) -> AppPage:
        async with slot:
            return await client.list_apps(page=number, limit=PAGE_LIMIT, mode=mode)

    # an early page fails the listing only when it is needed: a workspace of one page never reads it
    found = await asyncio.gather(*(one(n) for n in range(1, ahead + 2)), return_exceptions=True)
    first, early = _page(found[0]), found[1:]
    apps = list(first.items)
    if not first.has_more or not first.items:
        return apps
    if first.total <= len(first.items):  # a server that does not count: one page after another
        page = first
        while page.has_more and page.items:
            page = _page(early.pop(0)) if early else await one(page.page + 1)
            apps.extend(page.items)
        return _unique(apps)
    last = math.ceil(first.total / PAGE_LIMIT)
    needed = [_page(p) for p in early[: last - 1]]
    pages = [*needed, *await asyncio.gather(*(one(n) for n in range(ahead + 2, last + 1)))]
    for page in pages:
        apps.extend(page.items)
    return _unique(apps)


def _page(found: AppPage | BaseException) -> AppPage:
    if isinstance(found, BaseException):
        raise found
    return found


def _unique(apps: list[App]) -> list[App]:
    """An app created while the pages were read can shift one into two pages."""
    seen: set[str] = set()
    return [a for a in apps if not (a.id in seen or seen.add(a.id))]  # type: ignore[func-returns-value]


def match_ref(apps: Sequence[App], ref: str, policy: KeyPolicy) -> App:
    """An app id, an exact app name or a profile alias -> the App, from the listing. Unknown -> exit 2."""
    alias_id = policy.aliases.get(ref)
    found = next((a for a in apps if a.id == (alias_id or ref)), None)
    if found is not None:
        return found
    if alias_id:
        raise AppNotFoundError(ref, [f"alias {ref!r} points to a deleted app"])
    exact = [a for a in apps if a.name == ref]
    if len(exact) == 1:
        return exact[0]
    if len(exact) > 1:
        ids = ", ".join(a.id for a in exact)
        raise UsageError(f"{len(exact)} apps are named {ref!r} ({ids})", hint="pass the app id instead")
    raise AppNotFoundError(ref, difflib.get_close_matches(ref, [a.name for a in apps], n=3, cutoff=0.5))


class Resolver:
    """Turns references or `--all` into ResolvedApps. `console` is opened only when a key or an app
    must come from the console (a profile whose every key is in the environment needs no login)."""

    def __init__(
        self,
        policy: KeyPolicy,
        console: Callable[[], ConsoleReader],
        *,
        concurrency: int = 8,
        progress: Progress | None = None,
    ) -> None:
        self.policy = policy
        self._open = console
        self._client: ConsoleReader | None = None
        self.concurrency = max(concurrency, 1)
        self.progress = progress
        self.end_progress: Callable[[], None] = lambda: None  # a caller's own display takes over

    @property
    def console(self) -> ConsoleReader:
        if self._client is None:
            self._client = self._open()
        return self._client

    async def all_apps(self, mode: str | None = None) -> list[ResolvedApp]:
        apps = await self.listed(mode)
        return await self._with_keys(apps, [a.name for a in apps], single=False)

    async def listed(self, mode: str | None = None) -> list[App]:
        """Every app of the workspace (of `mode`), keys not looked up yet."""
        return await list_all_apps(self.console, mode=mode, concurrency=self.concurrency, ahead=1)

    async def refs(self, refs: Sequence[str]) -> list[ResolvedApp]:
        """Apps named by id, exact name or alias. A ref whose key is known needs no console (its mode
        comes from /v1/info later); the others are matched in ONE concurrent listing."""
        single = len(refs) == 1
        early = {r: self.policy.known([r], self.policy.app_id_of(r), single) for r in refs}
        rest = [r for r in refs if early[r] is None]
        found: dict[str, ResolvedApp] = {}
        if rest:
            listing = await list_all_apps(self.console, concurrency=self.concurrency, ahead=1)
            apps = [match_ref(listing, ref, self.policy) for ref in rest]
            found = dict(zip(rest, await self._with_keys(apps, rest, single=single), strict=True))
        out = []
        for ref in refs:
            key = early[ref]
            if key is None:
                out.append(found[ref])
            else:
                app_id = self.policy.app_id_of(ref)
                out.append(ResolvedApp(ref, ref, self.policy.base_url, key[0], key[1], app_id))
        return out

    async def _with_keys(
        self,
        apps: Sequence[App],
        refs: Sequence[str],
        *,
        single: bool,
    ) -> list[ResolvedApp]:
        return list(await asyncio.gather(*self.key_tasks(apps, refs, single=single)))

    def key_tasks(
        self, apps: Sequence[App], refs: Sequence[str], *, single: bool
    ) -> list[asyncio.Task[ResolvedApp]]:
        """One task per app, started now, resolving its key: the environment and the keyring first,
        else its console lookup (`concurrency` lookups in flight). A fan-out can start each app's
        run as soon as its own task is done instead of waiting for the slowest lookup."""
        known = [
            self.policy.known([ref, self.policy.alias_of(app.id) or ""], app.id, single)
            for app, ref in zip(apps, refs, strict=True)
        ]
        lookup = self._lookups(total=sum(k is None for k in known))

        async def one(app: App, ref: str, found: tuple[str, str] | None) -> ResolvedApp:
            base = ResolvedApp(ref, app.name, self.policy.base_url, app_id=app.id, mode=app.mode)
            if found is not None:
                return _replace(base, api_key=found[0], key_source=found[1])
            return _keyed(base, await lookup(app.id))

        return [asyncio.create_task(one(*item)) for item in zip(apps, refs, known, strict=True)]

    async def lookup_keys(self, app_ids: Sequence[str]) -> dict[str, list[ApiKey] | DifyError]:
        """Each app's keys (or the error of its lookup), `concurrency` lookups in flight."""
        lookup = self._lookups(total=len(app_ids))
        found = await asyncio.gather(*(lookup(app_id) for app_id in app_ids))
        return dict(zip(app_ids, found, strict=True))

    def _lookups(self, total: int) -> Callable[[str], Awaitable[list[ApiKey] | DifyError]]:
        """A console key lookup: `concurrency` in flight, a failure returned as the value (it fails
        only its own app), the progress told after each of `total`."""
        slot = asyncio.Semaphore(self.concurrency)
        done = 0

        async def lookup(app_id: str) -> list[ApiKey] | DifyError:
            nonlocal done
            async with slot:
                try:
                    result: list[ApiKey] | DifyError = await self.console.list_api_keys(app_id)
                except DifyError as exc:
                    result = exc
            done += 1
            if self.progress is not None:
                self.progress(done, total)
            return result

        return lookup


def lookup_error(exc: DifyError) -> tuple[str, int | None]:
    """ "key lookup failed: HTTP 500: <message>" and the status, for a lookup that failed after retries."""
    status = getattr(exc, "status_code", None)
    where = f"HTTP {status}: " if status else ""
    return f"key lookup failed: {where}{exc.message}", status


def _keyed(base: ResolvedApp, found: list[ApiKey] | DifyError) -> ResolvedApp:
    if isinstance(found, DifyError):
        message, status = lookup_error(found)
        return _replace(base, error=message, status=status, exit_code=int(found.exit_code))
    newest = newest_key(found)
    if newest is None:
        return _replace(base, error=NO_KEY)
    return _replace(base, api_key=newest.token, key_source="console")


def _replace(base: ResolvedApp, **changes: object) -> ResolvedApp:
    import dataclasses

    return dataclasses.replace(base, **changes)  # type: ignore[arg-type]
