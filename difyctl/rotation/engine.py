"""Service API key rotation in the four phases of AWS Secrets Manager, with a journal and a lock.

    create  (a new key; journal: created)            -> the pending key exists, nothing uses it
    test    (GET /v1/info + probe queries; tested)   -> failure: the pending key is deleted (reverted)
    promote (keyring, then every sink; promoting ->  -> failure in a sink: both keys work; --resume
             promoted)                                  re-delivers every sink and goes on
    finish  (after --grace: revoke the old key,      -> the old key must get 401, the new one work
             prove it; finishing -> finished)

At every moment at least one working key is stored and delivered (the old key stays valid until
every sink holds the new one), and the server never holds more than the starting number + 1 keys.
The journal (see journal.py) holds ids, phases and the sink specs, never a key; a resumed run reads
the new key back from the server by id and delivers to every journaled sink that has not confirmed
delivery, so the old key is never revoked before all the sinks the rotation started with hold the
new one. `hook(point)` lets the fault-matrix tests "kill" the process at each step.
"""

from __future__ import annotations

import shlex
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from difyctl.client.errors import AuthenticationError, DifyError, PermissionDeniedError
from difyctl.errors import UsageError
from difyctl.exit_codes import ExitCode
from difyctl.redact import mask
from difyctl.rotation.checks import probe_key
from difyctl.rotation.journal import Journal, JournalStore
from difyctl.rotation.lock import LockedError, RotationLock
from difyctl.rotation.sinks import Sink, SinkError, parse_sink
from difyctl.targets import newest_key

if TYPE_CHECKING:
    from difyctl.client.console import ConsoleClient
    from difyctl.client.models import ApiKey, App
    from difyctl.client.service import ServiceClient
    from difyctl.credentials import CredentialStore

MAX_KEYS = 10  # Dify's limit per app
_BEFORE_PROMOTED = frozenset({"creating", "created", "tested", "promoting"})
DAY = 86400.0


def _q(name: str) -> str:
    """An app name as one shell word, so a printed command runs as printed (`'Echo Chat'`)."""
    return shlex.quote(name)


class _Stop(Exception):
    """Ends one app's rotation early; the result already says why."""


@dataclass(frozen=True)
class RotateOptions:
    grace_s: float = 0.0
    probes: tuple[str, ...] = ()
    sinks: tuple[Sink, ...] = ()
    replace_sinks: bool = False  # on resume: deliver to `sinks` instead of the journaled ones
    resume: bool = False
    finish: bool = False
    force: bool = False
    dry_run: bool = False
    prune_unused_days: float | None = None


@dataclass
class KeyDeps:
    """What the engine talks to: injected, so tests run it against the emulator with fakes."""

    console: ConsoleClient
    store: CredentialStore
    journals: JournalStore
    profile: str
    service: Callable[[str], ServiceClient]  # token -> a service client for this server
    now: Callable[[], float]
    user: str = "difyctl-rotation"
    hook: Callable[[str], None] = lambda _point: None
    server: str = ""  # the base URL: with the app id, the key of the journal and the lock


@dataclass
class KeyRotation:
    """The outcome for one app (ok or not: failures are data)."""

    app: str
    app_id: str
    status: str = "started"  # finished|promoted|waiting|reverted|failed|locked|planned|nothing-to-do
    phase: str | None = None
    old_key_id: str | None = None
    new_key_id: str | None = None
    old_key: str | None = None  # masked; None: there is none
    new_key: str | None = None  # masked; None: no new key exists
    grace_until: float | None = None
    delivered: list[str] = field(default_factory=list)
    pruned: list[str] = field(default_factory=list)
    checks: list[dict[str, Any]] = field(default_factory=list)
    error: str | None = None
    hint: str | None = None
    exit_code: ExitCode = ExitCode.OK
    app_mode: str | None = None

    @property
    def ok(self) -> bool:
        return self.exit_code == ExitCode.OK

    def fail(self, error: str, hint: str | None = None, code: ExitCode = ExitCode.FAILED) -> _Stop:
        self.status, self.error, self.hint, self.exit_code = "failed", error, hint, ExitCode(code)
        return _Stop(error)

    def to_dict(self) -> dict[str, Any]:
        from difyctl.jsonshape import app_fields, iso

        doc = {k: getattr(self, k) for k in self.__dataclass_fields__ if k != "app_mode"}
        doc["grace_until_iso"] = iso(self.grace_until)
        return {**doc, **app_fields(self.app_id, self.app, self.app_mode)}


def rotate_key(deps: KeyDeps, app: App, opts: RotateOptions) -> KeyRotation:
    res = KeyRotation(app=app.name, app_id=app.id, app_mode=app.mode)
    if opts.dry_run:
        return _guard(lambda: _plan(deps, app, opts, res), res)
    lock = RotationLock(deps.journals.lock_path(deps.server, app.id), f"the rotation of app {app.name!r}")
    try:
        with lock:
            run = _Run(deps, app, opts, res)
            return _guard(run.dispatch, res, run.unfinished)
    except LockedError as exc:
        res.status, res.error, res.hint = "locked", exc.message, exc.hint
        res.exit_code = ExitCode.FAILED
        return res


def _guard(
    body: Callable[[], KeyRotation], res: KeyRotation, unfinished: Callable[[], None] = lambda: None
) -> KeyRotation:
    try:
        return body()
    except _Stop:
        return res
    except DifyError as exc:  # an unexpected server answer outside the checked steps
        res.fail(exc.message, exc.hint, exc.exit_code)
        unfinished()
        return res


def _current(deps: KeyDeps, app_id: str, keys: Sequence[ApiKey]) -> ApiKey | None:
    """The key in use: the stored one when the server still has it, else the newest (as `run` picks)."""
    stored = deps.store.get_app_key(deps.profile, app_id)
    for key in keys:
        if stored and key.token == stored:
            return key
    return newest_key(keys)


def _prunable(keys: Sequence[ApiKey], keep: set[str], days: float, now: float) -> list[ApiKey]:
    cutoff = now - days * DAY
    return [k for k in keys if k.id not in keep and (k.last_used_at or k.created_at or 0) < cutoff]


def _role_check(deps: KeyDeps, res: KeyRotation) -> None:
    """Only admins and owners may revoke: an editor would create a key it can never remove. Never
    skipped: a server that does not tell the role stops the rotation before anything is created."""
    try:
        role = deps.console.current_workspace().role
    except DifyError as exc:
        raise res.fail(
            f"could not read your role in this workspace ({exc.message}); nothing was changed",
            exc.hint or "check the login and the server (`difyctl status`), then run it again",
            exc.exit_code,
        ) from None
    if role is not None and role not in ("owner", "admin"):
        raise res.fail(
            f"your role in this workspace is {role!r}: it can create keys but not revoke them, so the "
            "rotation would leave an extra key; nothing was changed",
            "rotate as an admin/owner (or with DIFY_ADMIN_API_KEY + DIFY_WORKSPACE_ID)",
            ExitCode.AUTH,
        )


def _plan(deps: KeyDeps, app: App, opts: RotateOptions, res: KeyRotation) -> KeyRotation:
    _role_check(deps, res)
    keys = deps.console.list_api_keys(app.id)
    old = _current(deps, app.id, keys)
    res.old_key_id, res.old_key = (old.id, mask(old.token)) if old else (None, None)
    if len(keys) >= MAX_KEYS and opts.prune_unused_days is not None:
        keep = {old.id} if old else set()
        res.pruned = [k.id for k in _prunable(keys, keep, opts.prune_unused_days, deps.now())]
    res.delivered = ["keyring", *(s.name for s in opts.sinks)]
    res.status, res.phase = "planned", None
    if len(keys) - len(res.pruned) >= MAX_KEYS:
        res.fail(f"app {app.name!r} already has {len(keys)} keys (Dify's limit is {MAX_KEYS})", _LIMIT_HINT)
    return res


_LIMIT_HINT = (
    "pass --prune-unused DAYS to remove long-unused keys first, or revoke one with `difyctl keys revoke`"
)


class _Run:
    """One app's rotation under its lock: fresh, resumed or finishing."""

    def __init__(self, deps: KeyDeps, app: App, opts: RotateOptions, res: KeyRotation) -> None:
        self.deps, self.app, self.opts, self.res = deps, app, opts, res
        self.journals = deps.journals
        self.j: Journal = Journal(app.id, app.name, deps.profile, server=deps.server)
        self.sinks: tuple[Sink, ...] = opts.sinks

    # -- entry ------------------------------------------------------------------------------------
    def dispatch(self) -> KeyRotation:
        found = self.journals.load(self.deps.server, self.app.id, legacy_profile=self.deps.profile)
        res = self.res
        if found is not None and found.active:
            self.j = found
            res.old_key_id, res.new_key_id, res.phase = found.old_key_id, found.new_key_id, found.phase
            res.delivered, res.grace_until = list(found.delivered), found.grace_until
            if not (self.opts.resume or self.opts.finish):
                raise res.fail(
                    f"an unfinished rotation of {self.app.name!r} is in phase {found.phase!r}",
                    f"run `difyctl keys rotate {_q(self.app.name)} --resume --yes` "
                    "(or --finish after the grace)",
                )
            self.sinks = self._journaled_sinks()
            if self.opts.finish:
                return self._finish_only()
            return self._resume()
        if self.opts.finish or self.opts.resume:
            res.status, res.phase = "nothing-to-do", found.phase if found else None
            return res
        return self._fresh()

    def unfinished(self) -> None:
        """A server error outside the checked steps (a deadline cut a create whose cleanup could not
        list the keys either): a rotation left mid-way says what exists and the command that
        finishes it, as Ctrl-C does, not only the error's own hint."""
        if not self.j.active:
            return
        command = f"difyctl keys rotate {_q(self.app.name)}"
        pending = describe_pending(self.journals, self.deps.server, self.deps.profile, self.app, command)
        pending = pending.removeprefix(f"{self.app.name}: ")  # the result names its app already
        self.res.phase = self.j.phase
        self.res.hint = pending + (f"; {self.res.hint}" if self.res.hint else "")

    def _journaled_sinks(self) -> tuple[Sink, ...]:
        """The sinks the rotation was started with; a different --sink is refused (exit 2) unless
        --replace-sinks, so a resume can never skip a consumer that still holds the old key."""
        j, given = self.j, [s.name for s in self.opts.sinks]
        if j.sinks is None:  # journaled before the sinks were: the --sink given now is all there is
            if not given and not self.opts.replace_sinks and j.phase in _BEFORE_PROMOTED:
                raise self.res.fail(
                    "this rotation was journaled by an older difyctl that did not record its sinks, so a "
                    "resume without --sink could revoke the old key while a consumer still holds it",
                    "repeat the --sink options it was started with; if it had none, pass --replace-sinks",
                    ExitCode.USAGE,
                )
            j.sinks = given
            return self.opts.sinks
        if (given or self.opts.replace_sinks) and given != j.sinks:
            if not self.opts.replace_sinks:
                raise self.res.fail(
                    "--sink differs from the sinks this rotation was started with "
                    f"({', '.join(j.sinks) or 'none'}): omit --sink to deliver to those, or pass "
                    "--replace-sinks to use the new ones",
                    code=ExitCode.USAGE,
                )
            j.sinks = given
            j.delivered = [d for d in j.delivered if d == "keyring" or d in given]
            self.journals.save(j)
            return self.opts.sinks
        try:
            return tuple(parse_sink(spec) for spec in j.sinks)
        except UsageError as exc:
            raise self.res.fail(
                f"a sink of the journal is unusable: {exc.message}",
                "fix it, or pass --sink ... --replace-sinks to deliver elsewhere",
                ExitCode.USAGE,
            ) from None

    def _finish_only(self) -> KeyRotation:
        if self.j.phase not in ("promoted", "finishing"):
            raise self.res.fail(
                f"the rotation of {self.app.name!r} is in phase {self.j.phase!r}, not promoted yet",
                f"run `difyctl keys rotate {_q(self.app.name)} --resume`",
            )
        return self._finish(self._token_of(self.j.new_key_id))

    def _resume(self) -> KeyRotation:
        if self.j.phase == "creating" and not self._adopt_created():
            return self._fresh()
        token = self._token_of(self.j.new_key_id)
        self.res.new_key = mask(token)
        if self.j.phase == "created":
            self._test(token)
        # a promoted rotation whose sinks were replaced (--replace-sinks) delivers before any revoke
        undelivered = any(sink.name not in self.j.delivered for sink in self.sinks)
        if self.j.phase in ("created", "tested", "promoting") or undelivered:
            self._promote(token)
            if self.opts.grace_s > 0 and self.j.grace_until is None:
                self.j.grace_until = self.deps.now() + self.opts.grace_s
        return self._after_promote(token)

    def _adopt_created(self) -> bool:
        """Died during the create: the key it made (the newest not there before) becomes the new key;
        False when the create never reached the server (then the rotation starts over)."""
        before = set(self.j.keys_before)
        made = [k for k in self._list() if k.id not in before]
        if not made:
            self.journals.transition(self.j, "failed", self.deps.now(), "the create never reached the server")
            self.j = Journal(self.app.id, self.app.name, self.deps.profile, server=self.deps.server)
            return False
        new = newest_key(made)
        assert new is not None  # `made` is not empty
        self.j.new_key_id = self.res.new_key_id = new.id
        self.journals.transition(self.j, "created", self.deps.now(), "found the key of an interrupted create")
        return True

    def _fresh(self) -> KeyRotation:
        deps, app, res = self.deps, self.app, self.res
        self.j.sinks, self.j.delivered = [s.name for s in self.sinks], []
        _role_check(deps, res)
        keys = deps.console.list_api_keys(app.id)
        old = _current(deps, app.id, keys)
        self.j.old_key_id = old.id if old else None
        res.old_key_id, res.old_key = (old.id, mask(old.token)) if old else (None, None)
        self.j.started_at = deps.now()
        if len(keys) >= MAX_KEYS:
            keys = self._prune(keys, old)
        self._create({k.id for k in keys})
        token = self._token_of(self.j.new_key_id)
        self._test(token)
        self._promote(token)
        if self.opts.grace_s > 0:
            self.j.grace_until = deps.now() + self.opts.grace_s
        return self._after_promote(token)

    # -- phases -----------------------------------------------------------------------------------
    def _prune(self, keys: list[ApiKey], old: ApiKey | None) -> list[ApiKey]:
        res, days = self.res, self.opts.prune_unused_days
        if days is None:
            raise res.fail(
                f"app {self.app.name!r} already has {len(keys)} keys (Dify's limit is {MAX_KEYS})",
                _LIMIT_HINT,
            )
        doomed = _prunable(keys, {old.id} if old else set(), days, self.deps.now())
        if len(keys) - len(doomed) >= MAX_KEYS:
            raise res.fail(
                f"only {len(doomed)} keys unused for {days:g} days: still at Dify's limit of {MAX_KEYS}",
                _LIMIT_HINT,
            )
        for key in doomed:
            self.deps.console.delete_api_key(self.app.id, key.id)
            self.j.pruned.append(key.id)
        res.pruned = list(self.j.pruned)
        self.journals.transition(self.j, "pruned", self.deps.now(), f"{len(doomed)} unused keys removed")
        return [k for k in keys if k not in doomed]

    def _create(self, before: set[str]) -> None:
        self.j.keys_before = sorted(before)
        self.journals.transition(self.j, "creating", self.deps.now())
        try:
            new = self.deps.console.create_api_key(self.app.id)
        except DifyError as exc:
            # the request may have created a key before failing: find it and delete it
            stray = [k for k in self._list() if k.id not in before]
            for key in stray:
                self.deps.console.delete_api_key(self.app.id, key.id)
            self.journals.transition(self.j, "failed", self.deps.now(), f"create failed: {exc.message}")
            raise self.res.fail(
                f"creating the new key failed: {exc.message}", exc.hint, exc.exit_code
            ) from None
        self.j.new_key_id = self.res.new_key_id = new.id
        self.res.new_key = mask(new.token)
        self.journals.transition(self.j, "created", self.deps.now())
        self.deps.hook("after_create")

    def _test(self, token: str) -> None:
        error = probe_key(
            self.deps.service, token, self.opts.probes, self.res.checks, "new key", self.deps.user
        )
        if error is not None:
            self.deps.console.delete_api_key(self.app.id, str(self.j.new_key_id))
            self.journals.transition(self.j, "reverted", self.deps.now(), f"test failed: {error}")
            self.res.phase = "reverted"
            stop = self.res.fail(f"the new key failed its test ({error}); deleted it, kept the old key")
            self.res.status = "reverted"
            raise stop
        self.journals.transition(self.j, "tested", self.deps.now())
        self.deps.hook("after_test")

    def _promote(self, token: str) -> None:
        deps, j = self.deps, self.j
        j.error = None
        self.journals.transition(j, "promoting", deps.now())
        deps.store.set_app_key(deps.profile, self.app.id, token)
        if "keyring" not in j.delivered:
            j.delivered.append("keyring")
            self.journals.save(j)
        context = {
            "DIFY_APP_ID": self.app.id,
            "DIFY_APP_NAME": self.app.name,
            "DIFY_NEW_KEY_ID": str(j.new_key_id),
        }
        for sink in self.sinks:
            if sink.name in j.delivered:  # confirmed by an earlier run of this rotation
                continue
            deps.hook(f"before_sink:{sink.name}")
            try:
                sink.deliver(token, context)
            except SinkError as exc:
                j.error = exc.message
                self.journals.save(j)
                self.res.delivered, self.res.phase = list(j.delivered), j.phase
                raise self.res.fail(
                    exc.message,
                    "both keys work and the old one is not revoked; fix the sink, then "
                    f"`difyctl keys rotate {_q(self.app.name)} --resume --yes` delivers to every sink that "
                    "does not hold the new key yet (from the journal: no --sink needed) and finishes",
                ) from None
            j.delivered.append(sink.name)
            self.journals.save(j)
        self.res.delivered = list(j.delivered)

    def _after_promote(self, token: str) -> KeyRotation:
        j, res = self.j, self.res
        if j.phase != "finishing":
            if j.phase != "promoted":
                self.journals.transition(j, "promoted", self.deps.now())
            self.deps.hook("after_promote")
        res.grace_until, res.new_key = j.grace_until, mask(token)
        if j.phase == "promoted" and j.grace_until is not None and self.deps.now() < j.grace_until:
            res.status, res.phase = "promoted", j.phase
            res.hint = (
                f"the old key is revoked by `difyctl keys rotate {_q(self.app.name)} --finish --yes` "
                "after the grace"
            )
            return res
        return self._finish(token)

    def _finish(self, token: str) -> KeyRotation:
        deps, j, res = self.deps, self.j, self.res
        res.new_key = mask(token)
        if j.phase == "promoted" and j.grace_until and deps.now() < j.grace_until and not self.opts.force:
            left = j.grace_until - deps.now()
            res.status, res.exit_code = "waiting", ExitCode.FAILED
            res.error = f"the grace period has {left:.0f} s left: refusing to revoke the old key yet"
            res.hint = "wait, or pass --force"
            return res
        self.journals.transition(j, "finishing", deps.now())
        old = next((k for k in self._list() if k.id == j.old_key_id), None)
        if old is not None:
            res.old_key = mask(old.token)
            deps.hook("before_revoke")
            try:
                deps.console.delete_api_key(self.app.id, old.id)
            except PermissionDeniedError:
                raise res.fail(
                    "your role may not revoke keys (403): the new key is stored and works, "
                    f"the old key {old.id} remains",
                    f"an admin removes it with `difyctl keys revoke {_q(self.app.name)} {old.id}` "
                    f"or `difyctl keys rotate {_q(self.app.name)} --finish`",
                    ExitCode.AUTH,
                ) from None
            except DifyError as exc:
                raise res.fail(f"revoking the old key failed: {exc.message}", "retry with --finish") from None
            deps.hook("during_finish")
            try:
                with deps.service(old.token) as svc:
                    svc.info()
            except AuthenticationError:
                res.checks.append({"check": "old key gets 401", "ok": True})
            except DifyError as exc:
                res.checks.append({"check": "old key gets 401", "ok": False, "error": exc.message})
                raise res.fail(
                    f"could not prove the old key is revoked: {exc.message}", "retry with --finish"
                ) from None
            else:
                res.checks.append({"check": "old key gets 401", "ok": False})
                j.error = "the old key still works after revoke"
                self.journals.save(j)
                raise res.fail(
                    "the old key still works after it was revoked",
                    "retry with --finish; check the server's key cache",
                )
        else:
            res.checks.append({"check": "old key absent from the server", "ok": True})
        error = probe_key(deps.service, token, (), res.checks, "new key after finish", deps.user)
        if error is not None:
            raise res.fail(f"the new key does not work after the finish: {error}")
        self.journals.transition(j, "finished", deps.now())
        res.status, res.phase, res.exit_code = "finished", "finished", ExitCode.OK
        return res

    # -- helpers ----------------------------------------------------------------------------------
    def _list(self) -> list[ApiKey]:
        return self.deps.console.list_api_keys(self.app.id)

    def _token_of(self, key_id: str | None) -> str:
        key = next((k for k in self._list() if k.id == key_id), None)
        if key is None:
            self.journals.transition(self.j, "failed", self.deps.now(), "the new key is gone from the server")
            raise self.res.fail(
                f"the new key {key_id} no longer exists on the server; the rotation was abandoned",
                f"start again with `difyctl keys rotate {_q(self.app.name)}`",
            )
        return key.token


def describe_pending(journals: JournalStore, server: str, profile: str, app: App, command: str) -> str:
    """One line for a rotation cut short (Ctrl-C, SIGTERM): what exists now and the exact command that
    finishes it. `command` is `difyctl keys rotate APP` with the flags that select the same server."""
    j = journals.load(server, app.id, legacy_profile=profile)
    if j is None or not j.active:
        return f"{app.name}: nothing is pending: the old key works, no new key was kept; run it again"
    where = f"journal {journals.path(server, app.id)}, phase {j.phase!r}"
    finish = f"`{command} --resume --yes`"
    if j.phase == "creating":
        state = "the old key works and is in use; a new key may have been created (not used anywhere)"
    elif j.phase in ("created", "tested"):
        state = f"the old key works and is in use; a new key {j.new_key_id} exists but no consumer has it"
    elif j.phase == "promoting":
        missing = [s for s in j.sinks or () if s not in j.delivered]
        state = (
            f"both keys work; the new key {j.new_key_id} is in {', '.join(j.delivered) or 'nothing yet'}"
            + (f", not yet in {', '.join(missing)}" if missing else "")
        )
    elif j.phase == "promoted":
        state, finish = "both keys work and every sink holds the new key", f"`{command} --finish --yes`"
    else:  # finishing
        state = f"the new key works and is delivered; the old key {j.old_key_id} may already be revoked"
        finish = f"`{command} --finish --yes`"
    return f"{app.name}: {state} ({where}); finish it with {finish}"
