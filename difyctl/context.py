"""AppContext: everything a command needs, handed in rather than global (hatch's Application).

It resolves, in the order of DESIGN.md (flag > environment > keyring):
- the profile (flag, DIFYCTL_PROFILE, the current one) and its server;
- console auth: DIFY_ADMIN_API_KEY + DIFY_WORKSPACE_ID, DIFY_CONSOLE_TOKEN, DIFY_EMAIL + DIFY_PASSWORD
  (a login kept in memory only), else the stored session;
- a service key for one app: DIFY_API_KEY_<ALIAS>, DIFY_API_KEY, the stored key, else (with a console
  session) the app's newest existing key. Never creates a key implicitly.
Heavy modules (httpx, the client) are imported only when a command asks for a client.
"""

from __future__ import annotations

import dataclasses
import difflib
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

from difyctl.config import (
    Profile,
    ProfilesFile,
    alias_env_name,
    config_dir,
    resolve_profile,
    select_profile_name,
)
from difyctl.errors import AppNotFoundError, NotLoggedInError, UsageError
from difyctl.output import FORMATS, Output, OutputFormat

if TYPE_CHECKING:
    import httpx

    from difyctl.client.console import ConsoleClient
    from difyctl.client.models import App
    from difyctl.client.service import ServiceClient
    from difyctl.client.transport import ClientOptions, Runtime
    from difyctl.credentials import CredentialStore
    from difyctl.targets import KeyPolicy


@dataclass(frozen=True)
class ServiceTarget:
    """What a service-API command needs for one app: where, which key, and where the key came from."""

    ref: str
    app_id: str | None
    name: str | None
    base_url: str
    api_key: str = field(repr=False)
    key_source: str  # env:<VAR> | stored | console
    mode: str | None = None  # known when the console resolved the app: callers may skip /v1/info


@dataclass
class AppContext:
    env: Mapping[str, str]
    out: Output
    profile_override: str | None = None
    verbose: bool = False
    runtime: Runtime | None = None
    transport: httpx.BaseTransport | None = None  # tests may route the client through MockTransport
    timeout: float | None = None  # --timeout; else DIFYCTL_TIMEOUT; else the client's defaults
    _store: CredentialStore | None = field(default=None, repr=False)
    _profiles: ProfilesFile | None = field(default=None, repr=False)
    # env-password sessions by base URL: kept in memory only, shared by the copies with_options makes,
    # so a command that resolves many apps (broadcast --app ..., keys rotate A B C) logs in once
    _env_sessions: dict[str, Any] = field(default_factory=dict, repr=False)

    # -- construction ---------------------------------------------------------------------------
    @classmethod
    def from_environment(cls, env: Mapping[str, str] | None = None) -> AppContext:
        env = dict(os.environ if env is None else env)
        fmt = env.get("DIFYCTL_OUTPUT", "text")
        return cls(env=env, out=Output(format=_check_format(fmt)))

    def with_options(
        self, *, output: str | None, profile: str | None, verbose: bool, timeout: float | None = None
    ) -> AppContext:
        out = self.out
        if output is not None:
            out = dataclasses.replace(self.out, format=_check_format(output))
        if verbose and not self.verbose:
            _enable_http_log(out)
        return dataclasses.replace(
            self,
            out=out,
            profile_override=profile or self.profile_override,
            verbose=verbose or self.verbose,
            timeout=timeout if timeout is not None else self.timeout,
        )

    # -- configuration --------------------------------------------------------------------------
    @property
    def config_dir(self) -> Path:
        return config_dir(self.env)

    @property
    def debug(self) -> bool:
        return self.env.get("DIFYCTL_DEBUG", "") not in ("", "0", "false")

    def profiles(self) -> ProfilesFile:
        if self._profiles is None:
            self._profiles = ProfilesFile.load(self.config_dir)
        return self._profiles

    @property
    def profile_name(self) -> str:
        return select_profile_name(self.profile_override, self.env, self.profiles())

    def profile(self) -> Profile:
        return resolve_profile(self.profile_name, self.env, self.profiles())

    @property
    def credentials(self) -> CredentialStore:
        if self._store is None:
            from difyctl.credentials import CredentialStore, choose_backend

            self._store = CredentialStore(choose_backend(self.env, self.config_dir, notice=self.out.info))
        return self._store

    def request_timeout(self) -> float | None:
        """Seconds one request may take in all (`--timeout`, then DIFYCTL_TIMEOUT), or None."""
        if self.timeout is not None:
            return self.timeout
        raw = self.env.get("DIFYCTL_TIMEOUT", "").strip()
        if not raw:
            return None
        try:
            value = float(raw)
        except ValueError:
            value = 0.0
        if not value >= 0.001:  # the bound `--timeout` has (commands/_common.py); refuses nan too
            raise UsageError(f"DIFYCTL_TIMEOUT={raw!r} is not a number of seconds of at least 0.001")
        return value

    def client_options(self) -> ClientOptions:
        from difyctl.client.transport import ClientOptions, timeout_for

        seconds = self.request_timeout()
        if seconds is None:
            return ClientOptions(transport=self.transport)
        return ClientOptions(
            transport=self.transport, timeout=timeout_for(seconds), deadline=seconds, stream_deadline=seconds
        )

    def get_runtime(self) -> Runtime:
        from difyctl.client.transport import Runtime

        return self.runtime or Runtime()

    # -- console --------------------------------------------------------------------------------
    def console_auth_kind(self) -> str:
        if self.env.get("DIFY_ADMIN_API_KEY") and self.env.get("DIFY_WORKSPACE_ID"):
            return "admin-key"
        if self.env.get("DIFY_CONSOLE_TOKEN"):
            return "console-token"
        if self.env.get("DIFY_EMAIL") and self.env.get("DIFY_PASSWORD"):
            return "env-password"
        if self.credentials.get_session(self.profile_name):
            return "session"
        return "none"

    def console(self) -> ConsoleClient:
        profile = self.profile()  # first: "no server configured" costs no client import (start-up)
        from difyctl.client import auth as client_auth
        from difyctl.client.console import ConsoleClient

        kind = self.console_auth_kind()
        auth: Any
        if kind == "admin-key":
            auth = client_auth.AdminKeyAuth(self.env["DIFY_ADMIN_API_KEY"], self.env["DIFY_WORKSPACE_ID"])
        elif kind == "console-token":
            auth = client_auth.ConsoleTokenAuth(self.env["DIFY_CONSOLE_TOKEN"])
        elif kind == "env-password":
            session = self._env_sessions.get(profile.base_url)
            if session is None:
                session = client_auth.login(
                    profile.base_url,
                    self.env["DIFY_EMAIL"],
                    self.env["DIFY_PASSWORD"],
                    options=self.client_options(),
                    runtime=self.get_runtime(),
                    with_account=False,
                ).session
                self._env_sessions[profile.base_url] = session
            auth = _session_auth(session, on_refresh=None)
        elif kind == "session":
            raw = self.credentials.get_session(self.profile_name) or ""
            session = client_auth.ConsoleSession.from_json(raw)
            store, name = self.credentials, self.profile_name
            auth = _session_auth(session, on_refresh=lambda s: store.set_session(name, s.to_json()))
        else:
            raise NotLoggedInError(
                f"not logged in to {profile.base_url} (profile {profile.name!r})",
                hint="run `difyctl login`, or set DIFY_EMAIL and DIFY_PASSWORD (or DIFY_CONSOLE_TOKEN)",
            )
        return ConsoleClient(
            profile.base_url, auth, options=self.client_options(), runtime=self.get_runtime()
        )

    def resolve_app(self, console: ConsoleClient, ref: str) -> App:
        """An app id, an exact app name, or a profile alias -> App. Unknown -> exit 2 with close matches."""
        from difyctl.client.errors import NotFoundError

        alias_id = self.profile().apps.get(ref)
        candidate_id = alias_id or (ref if _looks_like_uuid(ref) else None)
        if candidate_id:
            try:
                return console.get_app(candidate_id)
            except NotFoundError:
                if alias_id:
                    raise AppNotFoundError(ref, [f"alias {ref!r} points to a deleted app"]) from None
        apps = list(console.iter_apps(name=ref))
        if any(a.name == ref for a in apps):  # one exact name, or several (a usage error)
            from difyctl.targets import match_ref

            return match_ref(apps, ref, self.key_policy())
        names = [a.name for a in console.iter_apps()]
        raise AppNotFoundError(ref, difflib.get_close_matches(ref, names, n=3, cutoff=0.5))

    # -- service --------------------------------------------------------------------------------
    def key_policy(self) -> KeyPolicy:
        """The environment and keyring steps of the one key policy (difyctl/targets.py)."""
        from difyctl.targets import KeyPolicy

        profile = self.profile()
        store, name = self.credentials, profile.name
        return KeyPolicy(profile.base_url, self.env, dict(profile.apps), lambda i: store.get_app_key(name, i))

    def service_target(self, ref: str) -> ServiceTarget:
        """One app's key, by the one policy (difyctl/targets.py): env > keyring > the newest console key."""
        from difyctl.targets import newest_key

        profile = self.profile()
        policy = self.key_policy()
        app_id = policy.app_id_of(ref)
        found = policy.known([ref], app_id, single=True)
        if found is not None:
            return ServiceTarget(ref, app_id, None, profile.base_url, found[0], found[1])
        if self.console_auth_kind() == "none":
            raise NotLoggedInError(
                f"no service API key for app {ref!r}",
                hint=f"set {alias_env_name(ref)} or DIFY_API_KEY, run `difyctl keys set {ref} --stdin`, "
                "or `difyctl login` to use the app's existing key",
            )
        with self.console() as console:
            app = self.resolve_app(console, ref)
            found = policy.known([], app.id, single=True)
            if found is not None:
                return ServiceTarget(ref, app.id, app.name, profile.base_url, found[0], found[1], app.mode)
            newest = newest_key(console.list_api_keys(app.id))
        if newest is None:
            raise UsageError(
                f"app {app.name!r} has no service API key",
                hint=f"create one with `difyctl keys create {ref} --store` (never created implicitly)",
            )
        return ServiceTarget(ref, app.id, app.name, profile.base_url, newest.token, "console", app.mode)

    def service(self, target: ServiceTarget) -> ServiceClient:
        from difyctl.client.service import ServiceClient

        return ServiceClient(
            target.base_url, target.api_key, options=self.client_options(), runtime=self.get_runtime()
        )


def _session_auth(session: Any, on_refresh: Any) -> Any:
    from difyctl.client import auth as client_auth

    if getattr(session, "legacy", False):
        return client_auth.LegacyBearerAuth(session, on_refresh=on_refresh)
    return client_auth.SessionAuth(session, on_refresh=on_refresh)


def _check_format(fmt: str) -> OutputFormat:
    if fmt not in FORMATS:
        raise UsageError(f"unknown output format {fmt!r}", hint="use one of: text, json, yaml")
    return cast(OutputFormat, fmt)


def _looks_like_uuid(ref: str) -> bool:
    from difyctl.targets import looks_like_uuid

    return looks_like_uuid(ref)


def _enable_http_log(out: Output) -> None:
    """--verbose: the client's `difyctl.http` logger (already redacted) goes to stderr."""
    import logging

    logger = logging.getLogger("difyctl.http")
    disable_http_log()
    handler = logging.StreamHandler(out.stderr)
    handler.setFormatter(logging.Formatter("http: %(message)s"))
    handler.set_name("difyctl-verbose")
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)


def disable_http_log() -> None:
    import logging

    logger = logging.getLogger("difyctl.http")
    verbose = [h for h in logger.handlers if h.get_name() == "difyctl-verbose"]
    for handler in verbose:
        logger.removeHandler(handler)
    if verbose:
        logger.setLevel(logging.NOTSET)  # a later in-process run is not verbose (broadcast's direct path)
