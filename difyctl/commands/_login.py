"""What login/logout/status do, kept out of the Typer callbacks (which only parse and render)."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Any

from difyctl.config import Profile
from difyctl.errors import UsageError
from difyctl.exit_codes import ExitCode

if TYPE_CHECKING:
    from difyctl.client.auth import LoginResult
    from difyctl.context import AppContext


def read_password(actx: AppContext, from_stdin: bool) -> str:
    """--stdin (--password-stdin) > DIFY_PASSWORD > a hidden prompt on a TTY. Never a flag value."""
    if from_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
        if not password:
            raise UsageError("--stdin was given but stdin is empty")
        return password
    if actx.env.get("DIFY_PASSWORD"):
        return actx.env["DIFY_PASSWORD"]
    from difyctl.output.prompt import ask_secret

    return ask_secret("Password", "--stdin (--password-stdin) or DIFY_PASSWORD")


def save_login(actx: AppContext, base_url: str, email: str, result: LoginResult) -> dict[str, Any]:
    """Store the session (keyring) and the profile (profiles.yaml; no secret in it)."""
    profiles = actx.profiles()
    name = actx.profile_name
    old = profiles.profiles.get(name)
    apps = dict(old.apps) if old and old.base_url == base_url else {}
    profiles.profiles[name] = Profile(name=name, base_url=base_url, email=email, auth="session", apps=apps)
    if profiles.current is None:
        profiles.current = name
    actx.credentials.set_session(name, result.session.to_json())
    profiles.save()
    account = result.account
    return {
        "profile": name,
        "base_url": base_url,
        "server_version": result.server_version,
        "auth": "session",
        "user": account.to_dict() if account else {"email": email},
    }


def logout_profile(actx: AppContext) -> dict[str, Any]:
    from difyctl.client.errors import DifyError

    name = actx.profile_name
    reached = False
    if actx.credentials.get_session(name):
        try:
            with actx.console() as console:
                console.logout()
            reached = True
        except DifyError:
            reached = False  # forget the session locally anyway: it is what the user asked for
    actx.credentials.delete_session(name)
    return {"profile": name, "logged_out": True, "server": reached}


def server_version_or_none(actx: AppContext) -> dict[str, Any]:
    from difyctl.client.console import probe_server
    from difyctl.errors import ConfigError

    try:
        profile = actx.profile()
    except ConfigError:
        return {}
    info = probe_server(profile.base_url, options=actx.client_options(), runtime=actx.get_runtime())
    doc = {"base_url": profile.base_url, "server_version": info.version, "reachable": info.reachable}
    if info.problem:  # say why the version is unknown: "no answer ... in N s" / "cannot connect" / HTML
        doc["problem"] = info.problem
    return doc


def collect_status(actx: AppContext) -> tuple[dict[str, Any], ExitCode]:
    from difyctl.client.console import probe_server
    from difyctl.client.errors import DifyError

    profile = actx.profile()
    kind = actx.console_auth_kind()
    info = probe_server(profile.base_url, options=actx.client_options(), runtime=actx.get_runtime())
    doc: dict[str, Any] = {
        "profile": profile.name,
        "base_url": profile.base_url,
        "server_version": info.version,
        "reachable": info.reachable,
        "auth": kind,
        "user": None,
    }
    if not info.reachable:
        doc["error"] = info.problem or f"cannot reach {profile.base_url}"
        doc["hint"] = (
            "the server accepted the connection but did not answer: raise --timeout if it is only slow"
            if info.problem
            and info.problem.startswith(("no answer", "timed out talking"))
            or "still answering" in (info.problem or "")
            else info.problem_hint or "check the base URL and that the server is running"
        )
        return doc, ExitCode.UNAVAILABLE
    if kind == "none":
        doc["error"], doc["hint"] = "not logged in", "run `difyctl login`"
        return doc, ExitCode.AUTH
    try:
        with actx.console() as console:
            doc["user"] = console.profile().to_dict()
            doc["workspace"] = _workspace(console)
    except DifyError as exc:
        doc["error"], doc["hint"] = exc.message, exc.hint
        return doc, exc.exit_code
    return doc, ExitCode.OK


def _workspace(console: Any) -> dict[str, Any] | None:
    """The current workspace: its id is what DIFY_WORKSPACE_ID (admin API key) needs."""
    from difyctl.client.errors import DifyError

    try:
        ws = console.current_workspace()
    except DifyError:  # an old server or a credential that cannot read it: status still works
        return None
    return {"id": ws.id, "name": ws.name, "role": ws.role}
