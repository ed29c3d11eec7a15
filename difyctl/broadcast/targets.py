"""Broadcast targets: the `--apps-file` format (checked with line numbers), and `Target`, what the
fan-out sends to. Keys come from the one resolver (`difyctl/targets.py`) BEFORE the fan-out, so no
keyring, console or file I/O happens inside it.

`--apps-file` is YAML, a list of targets (or a mapping with a `targets:` list)::

    - app: support-bot            # app id, exact name or profile alias (required)
      profile: staging            # another profile = another Dify instance
      name: support (staging)     # the label in tables and JSON
      key_env: SUPPORT_STAGING_KEY   # take the service key from this environment variable
      inputs: {tone: formal}      # per-target inputs, over the global --input values
    - app: echo-chat-0001
      base_url: http://127.0.0.1:5001   # with key_env: no profile needed
      key_env: ECHO_KEY
      mode: advanced-chat         # optional: skip the /v1/info probe
    - echo-workflow               # a bare string is {app: echo-workflow}
"""

from __future__ import annotations

import hashlib
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from difyctl.errors import UsageError
from difyctl.targets import NO_KEY

if TYPE_CHECKING:
    from difyctl.client.models import App
    from difyctl.targets import ResolvedApp

ENTRY_KEYS = ("app", "profile", "name", "key_env", "inputs", "mode", "base_url")
MODES = ("chat", "advanced-chat", "agent-chat", "completion", "workflow")
_MAX_REPORTED = 20


@dataclass(frozen=True)
class Target:
    """One app to ask, fully resolved: nothing left to read from disk, keyring or console."""

    app: str  # the reference as given (id, name, alias)
    name: str  # the label shown
    base_url: str
    api_key: str = field(repr=False)
    inputs: Mapping[str, Any] = field(default_factory=dict)
    mode: str | None = None  # known mode (console listing, apps-file): no /v1/info probe
    profile: str | None = None
    app_id: str | None = None
    preset_error: str | None = None  # resolution failed for this target only: reported, never sent
    preset_code: str | None = None  # no_key | key_lookup_failed
    preset_status: int | None = None  # the HTTP status of a failed key lookup
    preset_exit: int | None = None  # the failed lookup's exit code (4 refused, 5 unreachable), else 1
    # `--all`: the target as its key lookup will make it; the fan-out awaits it in the target's own
    # task, so each run starts as soon as its key is known (name, app id and mode come from the list)
    pending: Callable[[], Awaitable[Target]] | None = field(default=None, repr=False, compare=False)

    @property
    def app_key(self) -> tuple[str, str]:
        """Identity of the app for the per-app concurrency cap (one key belongs to one app)."""
        if self.app_id:
            return (self.base_url, self.app_id)
        digest = hashlib.sha256(self.api_key.encode()).hexdigest()[:16]
        return (self.base_url, f"key:{digest}")


@dataclass(frozen=True)
class Entry:
    """One `--apps-file` entry, checked, with the line it starts on."""

    line: int
    app: str
    profile: str | None = None
    name: str | None = None
    key_env: str | None = None
    inputs: Mapping[str, Any] = field(default_factory=dict)
    mode: str | None = None
    base_url: str | None = None


def _opt_str(value: Any) -> str | None:
    return None if value is None else str(value)


def _check_entry(index: int, line: int, raw: Any) -> tuple[Entry | None, list[str]]:
    where = f"line {line}: entry {index}"
    if isinstance(raw, str):
        raw = {"app": raw}
    if not isinstance(raw, dict):
        kind = type(raw).__name__
        return None, [f"{where}: expected a mapping like {{app: NAME}} or an app name, got {kind}"]
    errors: list[str] = []
    unknown = sorted(str(k) for k in raw if k not in ENTRY_KEYS)
    if unknown:
        errors.append(f"{where}: unknown key(s) {', '.join(unknown)} (allowed: {', '.join(ENTRY_KEYS)})")
    app = raw.get("app")
    if not isinstance(app, str | int) or not str(app).strip():
        errors.append(f"{where}: `app` is required (an app id, exact name or profile alias)")
    for key in ("profile", "name", "key_env", "base_url", "mode"):
        value = raw.get(key)
        if value is not None and not isinstance(value, str | int):
            errors.append(f"{where}: `{key}` must be a string")
    inputs = raw.get("inputs")
    if inputs is not None and not isinstance(inputs, dict):
        errors.append(f"{where}: `inputs` must be a mapping of input name to value")
    mode = raw.get("mode")
    if mode is not None and mode not in MODES:
        errors.append(f"{where}: `mode` must be one of {', '.join(MODES)}")
    if raw.get("base_url") is not None and not raw.get("key_env"):
        errors.append(f"{where}: `base_url` needs `key_env` (a profile gives the key otherwise)")
    if errors:
        return None, errors
    entry = Entry(
        line=line,
        app=str(app).strip(),
        profile=_opt_str(raw.get("profile")),
        name=_opt_str(raw.get("name")),
        key_env=_opt_str(raw.get("key_env")),
        inputs={str(k): v for k, v in (inputs or {}).items()},
        mode=_opt_str(mode),
        base_url=_opt_str(raw.get("base_url")),
    )
    return entry, []


def parse_apps_file(text: str, source: str = "apps file") -> list[Entry]:
    """Check every entry and report ALL problems with their line numbers (yaml node marks)."""
    import yaml

    from difyctl.yamlio import check_node, loader_for

    loader = loader_for(text)
    try:
        try:
            root = loader.get_single_node()
        except yaml.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None)
            where = f"{source}:{mark.line + 1}" if mark is not None else source
            problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
            raise UsageError(f"{where}: not valid YAML: {problem}") from None
        if root is None:
            raise UsageError(f"{source} is empty", hint="list the targets: - app: NAME")
        check_node(root, source)  # alias bombs and repeated keys, before one entry is built
        items = root
        if isinstance(root, yaml.MappingNode):
            found = [v for k, v in root.value if isinstance(k, yaml.ScalarNode) and k.value == "targets"]
            if not found:
                raise UsageError(f"{source}:{root.start_mark.line + 1}: expected a list of targets")
            items = found[0]
        if not isinstance(items, yaml.SequenceNode):
            raise UsageError(f"{source}:{items.start_mark.line + 1}: expected a list of targets")
        entries: list[Entry] = []
        errors: list[str] = []
        for index, node in enumerate(items.value, start=1):
            raw = loader.construct_object(node, deep=True)
            entry, problems = _check_entry(index, node.start_mark.line + 1, raw)
            errors.extend(problems)
            if entry is not None:
                entries.append(entry)
    finally:
        loader.dispose()
    if errors:
        shown = "\n  ".join(errors[:_MAX_REPORTED])
        more = f"\n  ... and {len(errors) - _MAX_REPORTED} more" if len(errors) > _MAX_REPORTED else ""
        raise UsageError(f"{source} has {len(errors)} problem(s); nothing was sent:\n  {shown}{more}")
    if not entries:
        raise UsageError(f"{source} lists no targets")
    return entries


def read_apps_file(path: Path) -> list[Entry]:
    from difyctl.yamlio import read_text

    return parse_apps_file(read_text(path), str(path))


# -- from the one resolver (difyctl/targets.py) to broadcast's targets ---------------------------------


def from_resolved(
    app: ResolvedApp,
    inputs: Mapping[str, Any],
    *,
    name: str | None = None,
    mode: str | None = None,
    profile: str | None = None,
) -> Target:
    """A resolved app as a target; an apps-file entry's name and mode win over the console's."""
    code = "no_key" if app.error == NO_KEY else "key_lookup_failed"
    return Target(
        app.ref,
        name or app.name,
        app.base_url,
        app.api_key,
        inputs,
        mode or app.mode,
        profile,
        app.app_id,
        app.error,
        code if app.error else None,
        app.status,
        app.exit_code,
    )


def pending_target(app: App, base_url: str, key: Awaitable[ResolvedApp], inputs: Mapping[str, Any]) -> Target:
    """A listed app whose key is still being looked up (`Resolver.key_tasks`)."""

    async def resolved() -> Target:
        return from_resolved(await key, inputs)

    return Target(app.name, app.name, base_url, "", inputs, app.mode, None, app.id, pending=resolved)


def check_sources(apps: Sequence[str], entries: Sequence[Entry], all_apps: bool, mode: str | None) -> None:
    """Exactly one source of targets, checked before anything is read or sent."""
    if sum([bool(apps), bool(entries), all_apps]) != 1:
        raise UsageError("choose the targets with one of --app APP..., --apps-file FILE or --all")
    if mode is not None and not all_apps:
        raise UsageError("--mode filters --all only")
    if mode is not None and mode not in MODES:
        raise UsageError(f"--mode must be one of {', '.join(MODES)}")
