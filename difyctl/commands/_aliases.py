"""`profile alias set|list|remove`: the profile's `apps: {alias: app_id}` map, edited."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from difyctl.errors import UsageError

if TYPE_CHECKING:
    from difyctl.config import Profile, ProfilesFile
    from difyctl.context import AppContext

_ALIAS = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")


def _stored(actx: AppContext) -> tuple[ProfilesFile, Profile]:
    profiles = actx.profiles()
    return profiles, profiles.get(actx.profile_name)


def set_alias(actx: AppContext, alias: str, app_ref: str) -> dict[str, Any]:
    from difyctl.config import alias_env_name
    from difyctl.context import _looks_like_uuid

    if not _ALIAS.match(alias):
        raise UsageError(
            f"invalid alias {alias!r}", hint="use letters, digits, '-', '_' or '.', at most 64 characters"
        )
    if _looks_like_uuid(alias):
        raise UsageError(
            f"alias {alias!r} looks like an app id", hint="choose a short name, e.g. support-bot"
        )
    profiles, profile = _stored(actx)
    if _looks_like_uuid(app_ref) and actx.console_auth_kind() == "none":
        app_id, name, mode = app_ref, "", None  # offline: an id is enough
    else:
        with actx.console() as console:
            app = actx.resolve_app(console, app_ref)
        app_id, name, mode = app.id, app.name, app.mode
    previous = profile.apps.get(alias)
    profile.apps[alias] = app_id
    profiles.save()
    return {
        "profile": profile.name,
        "alias": alias,
        "app_id": app_id,
        "app_name": name,
        "app_mode": mode,
        "replaced": previous if previous and previous != app_id else None,
        "key_env": alias_env_name(alias),
    }


def list_aliases(actx: AppContext) -> list[dict[str, Any]]:
    from difyctl.config import alias_env_name

    _, profile = _stored(actx)
    return [
        {"alias": alias, "app_id": app_id, "key_env": alias_env_name(alias)}
        for alias, app_id in sorted(profile.apps.items())
    ]


def remove_alias(actx: AppContext, alias: str) -> dict[str, Any]:
    profiles, profile = _stored(actx)
    if alias not in profile.apps:
        known = ", ".join(sorted(profile.apps)) or "none"
        raise UsageError(f"no alias {alias!r} in profile {profile.name!r}", hint=f"aliases: {known}")
    app_id = profile.apps.pop(alias)
    profiles.save()
    return {"profile": profile.name, "alias": alias, "app_id": app_id, "removed": True}
