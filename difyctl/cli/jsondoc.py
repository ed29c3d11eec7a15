"""docs/json.md: the `-o json` shape of each command, generated from the result classes.

    python -m difyctl.cli.jsondoc > docs/json.md

Each example below is the `to_dict()` of a result class (or the `difyctl.jsonshape` function the
command itself calls) on sample values, so the document cannot drift from the code: a test fails when
docs/json.md and this rendering disagree.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

APP_ID = "6540a9d1-bac0-4969-a906-089884e9a6d6"
WF_ID = "e8f0dff5-970a-4a94-934e-abe8387db1c7"
T0 = 1763630000  # 2025-11-20T09:13:20Z


def _app() -> Any:
    from difyctl.client.models import App

    return App(
        id=APP_ID,
        name="echo-chat",
        mode="advanced-chat",
        description="Start -> Answer echoing sys.query.",
        published_workflow_id=WF_ID,
        created_at=T0,
        updated_at=T0 + 60,
        enable_api=True,
    )


def _key() -> Any:
    from difyctl.client.models import ApiKey

    return ApiKey(id="7151e0c0-f7fc-4fc2-ac69-9ae120ec3515", token="app-AbCdEfGhIjKlWkCF", created_at=T0)


def apps_list() -> Any:
    import dataclasses

    return [dataclasses.replace(_app(), enable_api=None).to_dict()]


def apps_show() -> Any:
    return _app().to_dict()


def run() -> Any:
    from difyctl.client.models import RunResult, Usage
    from difyctl.context import ServiceTarget
    from difyctl.jsonshape import run_doc

    target = ServiceTarget("echo-chat", APP_ID, "echo-chat", "https://dify.example.com", "app-x", "stored")
    usage = Usage(
        prompt_tokens=9, completion_tokens=1, total_tokens=10, total_price="0.0000020", currency="USD"
    )
    result = RunResult(
        mode="advanced-chat",
        answer="hi",
        conversation_id="59b662ba-9477-432b-b0ce-f35cf65e719f",
        message_id="7e414137-eb35-403d-bc68-ef1292c96833",
        task_id="3679af30-9f3b-490a-b48a-3256e007d257",
        usage=usage,
        latency_ms=36.74922,
    )
    return run_doc("echo-chat", target, result)


def export() -> Any:
    from difyctl.jsonshape import export_doc

    return {
        **export_doc(_app(), draft=False, include_secret=False),
        "dsl": "app:\n  mode: advanced-chat\n...",
    }


def keys_list() -> Any:
    from difyctl.jsonshape import key_doc

    return [key_doc(_key(), _app())]


def versions_list() -> Any:
    from difyctl.client.models import Workflow
    from difyctl.jsonshape import version_doc

    workflow = Workflow(WF_ID, "2025-11-20 09:13:20", "h", {}, {}, marked_name="v1", created_at=T0)
    return [version_doc(workflow, _app())]


def health() -> Any:
    from difyctl.health import HealthCheck, HealthReport

    check = HealthCheck("echo-chat", APP_ID, "app-********WkCF", "stored", ok=True, status="ok")
    check.mode, check.latency_ms = "advanced-chat", 16.24999
    check.probes = [{"query": "ping", "ok": True, "latency_ms": 120.04, "error": None}]
    return HealthReport([check], wall_ms=38.2, resolve_ms=2.6).to_dict()


def keys_rotate() -> Any:
    from difyctl.rotation.engine import KeyRotation

    res = KeyRotation(app="echo-chat", app_id=APP_ID, app_mode="advanced-chat", status="waiting")
    res.old_key_id, res.old_key, res.grace_until = "7151e0c0", "app-********WkCF", float(T0 + 3600)
    return {"results": [res.to_dict()], "ok": True}


def secrets_list() -> Any:
    from difyctl.client.models import EnvVar
    from difyctl.jsonshape import app_fields_of

    var = EnvVar("0f3c", "CRM_TOKEN", "s3cret", "secret")
    return [{**var.to_dict(), **app_fields_of(_app())}]


def secrets_rotate() -> Any:
    from difyctl.rotation.secrets import SecretChange

    res = SecretChange(app="echo-chat", name="CRM_TOKEN", app_id=APP_ID, app_mode="advanced-chat")
    res.status, res.published = "changed", True
    return res.to_dict()


def snapshot_create() -> Any:
    from pathlib import Path

    from difyctl.snapshots.ops import SnapshotOutcome
    from difyctl.snapshots.store import SaveResult

    saved = SaveResult("created", _meta(), Path("snapshots/echo-chat-6540a9d1/20251120T091320Z.yml"))
    docs = [SnapshotOutcome(_app(), result=saved).to_dict()]
    return {"snapshots": docs, "created": 1, "unchanged": 0, "failed": 0}


def _meta() -> Any:
    from difyctl.snapshots.store import SnapshotMeta

    return SnapshotMeta(
        tag="20251120T091320Z",
        created_at="2025-11-20T09:13:20Z",
        app_id=APP_ID,
        app_name="echo-chat",
        app_mode="advanced-chat",
        sha256="d028aa3e...",
        content_hash="sha256:4334bb69...",
        server_version="1.16.0",
        dsl_version="0.7.0",
        workflow_id=WF_ID,
    )


def snapshot_list() -> Any:
    return [_meta().to_dict()]


def snapshot_diff() -> Any:
    from difyctl.jsonshape import diff_doc, snapshot_app_fields
    from difyctl.snapshots.diff import semantic_diff

    old = {"app": {"name": "echo-chat", "mode": "advanced-chat"}, "kind": "app", "version": "0.7.0"}
    new = {**old, "app": {"name": "echo-chat-2", "mode": "advanced-chat"}}
    return diff_doc("20251120T091320Z", "live", semantic_diff(old, new), snapshot_app_fields([_meta()]))


def snapshot_prune() -> Any:
    from difyctl.jsonshape import prune_doc
    from difyctl.snapshots.store import PruneResult

    return prune_doc(PruneResult((), (_meta(),), ()), [_meta()])


def broadcast() -> Any:
    from difyctl.broadcast.results import BroadcastResult, TargetResult

    target = TargetResult(0, "echo-chat", "echo-chat", mode="advanced-chat", status="ok", app_id=APP_ID)
    target.answer, target.latency_ms, target.elapsed_ms, target.attempts = "hi", 93.2999, 93.41, 1
    target.tokens = {"prompt": 9, "completion": 1, "total": 10}
    return BroadcastResult([target], wall_ms=114.7).to_dict()


def _diff() -> Any:
    from difyctl.snapshots.diff import semantic_diff

    old = {"app": {"name": "echo-chat", "mode": "advanced-chat"}, "kind": "app", "version": "0.7.0"}
    return semantic_diff(old, {**old, "app": {"name": "echo-chat", "mode": "advanced-chat", "icon": "🤖"}})


def _plan(verb: str) -> Any:
    from pathlib import Path

    from difyctl.snapshots.results import RollbackPlan, RollbackTarget

    target = RollbackTarget("20251120T091320Z", b"", {}, "sha256:4334bb69...", _meta())
    plan = RollbackPlan(_app(), target, "sha256:9a1f...", "sha256:4334bb69...", _diff(), "import", verb)
    plan.pre_rollback = dataclasses_replace(_meta(), tag=f"pre-{verb}-20251120T091500Z")
    plan.pre_rollback_path = Path(f"snapshots/echo-chat-6540a9d1/pre-{verb}-20251120T091500Z.yml")
    return plan


def dataclasses_replace(obj: Any, **changes: Any) -> Any:
    import dataclasses

    return dataclasses.replace(obj, **changes)


def _steps() -> list[Any]:
    from difyctl.snapshots.results import Step

    return [Step("import", "ok"), Step("publish", "ok"), Step("verify", "ok", "hash matches")]


def rollback() -> Any:
    """What `commands/_dsl.run_change` prints after a change (rollback and promote to an existing app)."""
    from difyctl.snapshots.results import RollbackResult

    plan = _plan("rollback")
    result = RollbackResult(plan, "applied", _steps())
    return {"dry_run": False, **result.to_dict(), "diff": plan.diff.to_dict()}


def rollback_dry_run() -> Any:
    plan = _plan("rollback")
    plan.pre_rollback = plan.pre_rollback_path = None
    return {"dry_run": True, "status": "planned", **plan.to_dict()}


def promote() -> Any:
    """`promote --create` (no app of that name on the target profile)."""
    from difyctl.change.create import CreateResult

    doc = {"from": "staging:echo-chat", "to": "prod", "app_name": "echo-chat", "profile": "prod"}
    result = CreateResult("created", _steps(), app_id=APP_ID, app=_app())
    return {"dry_run": False, **doc, **result.to_dict()}


def apply() -> Any:
    from pathlib import Path

    from difyctl.release.files import ReleaseFile
    from difyctl.release.results import AppPlan, ItemResult, ReleaseResult
    from difyctl.snapshots.results import RollbackTarget

    doc = {"app": {"name": "echo-chat", "mode": "advanced-chat"}}
    file = ReleaseFile(
        Path("apps/echo-chat.yml"), RollbackTarget("apps/echo-chat.yml", b"", doc), APP_ID, "manifest"
    )
    item = AppPlan(file, "update", _app(), _plan("apply"), _diff())
    return ReleaseResult([ItemResult(item, "applied", _steps())]).to_dict()


def validate() -> Any:
    from difyctl.validation.engine import BatchSummary, DocResult
    from difyctl.validation.report import report_dict

    summary = BatchSummary()
    summary.add(DocResult("parsed", {"ok": True}, line=1))
    summary.add(DocResult("repaired", {"ok": True}, ("strip-fence",), line=2))
    bad = [{"path": "$.ok", "keyword": "required", "message": "'ok' is a required property"}]
    summary.add(DocResult("invalid", None, pending_errors=bad, line=3))
    return report_dict(summary, schema="answer.schema.json", draft="2020-12", source="runs.jsonl")


def status() -> Any:
    """Written as `commands/_login.collect_status` builds it; the emulator test checks its keys."""
    return {
        "profile": "default",
        "base_url": "https://dify.example.com",
        "server_version": "1.16.0",
        "reachable": True,
        "auth": "session",
        "user": _account(),
        "workspace": {"id": "0c4a0e6b-2a7f-4a7e-9d3e-4d0f0f7f1a11", "name": "ops", "role": "owner"},
    }


def _account() -> Any:
    from difyctl.client.models import Account

    return Account(id="9d2b0e8f-0a2c-4d43-b1d2-2f5a0a4f3c10", name="Ops", email="ops@example.com").to_dict()


def login() -> Any:
    """Written as `commands/_login.save_login` returns it."""
    return {
        "profile": "default",
        "base_url": "https://dify.example.com",
        "server_version": "1.16.0",
        "auth": "session",
        "user": _account(),
    }


def logout() -> Any:
    return {"profile": "default", "logged_out": True, "server": True}


def version() -> Any:
    return {
        "difyctl": "0.1.0",
        "python": "3.12.3",
        "base_url": "https://dify.example.com",
        "server_version": "1.16.0",
        "reachable": True,
    }


def webhook_verify() -> Any:
    from difyctl.notify import sign, verify

    body, secret = b'{"ok": true}', "whsec-example"
    verdict = verify(secret, body, sign(secret, body, T0), str(T0), now=T0)
    return {"valid": verdict.ok, "reason": verdict.reason}


def credentials_list() -> Any:
    from difyctl.client.models import ModelProvider, ProviderCredentialRef

    ref = ProviderCredentialRef("b3c1d2e4-0000-4000-8000-000000000001", "API KEY 1")
    return [ModelProvider("langgenius/openai/openai", "active", ref.id, ref.name, (ref,)).to_dict()]


def credentials_rotate() -> Any:
    from difyctl.rotation.provider_creds import CredentialRotation

    res = CredentialRotation(
        "langgenius/openai/openai", "rotated", "b3c1d2e4...", "c4d2e3f5...", "rotated 2025-11-20"
    )
    res.secret_field = "openai_api_key"
    for step in ("create", "switch", "probe", "delete-old"):
        res.step(step)
    return res.to_dict()


def snapshot_show() -> Any:
    return {
        **_meta().to_dict(),
        "path": "snapshots/echo-chat-6540a9d1/20251120T091320Z.yml",
        "verified": True,
    }


def snapshot_verify() -> Any:
    from pathlib import Path

    from difyctl.snapshots.store import Problem

    problem = Problem(
        "sha-mismatch", Path("snapshots/echo-chat-6540a9d1/20251120T091320Z.yml"), "sha256 differs"
    )
    return {"ok": False, "root": "snapshots", "checked": 3, "problems": [problem.to_dict()]}


def keys_create() -> Any:
    from difyctl.jsonshape import key_doc

    return {**key_doc(_key(), _app()), "app": "echo-chat", "stored": True}


def keys_revoke() -> Any:
    from difyctl.jsonshape import app_fields_of

    return {"app": "echo-chat", "revoked": "7151e0c0-f7fc-4fc2-ac69-9ae120ec3515", **app_fields_of(_app())}


def keys_set() -> Any:
    from difyctl.jsonshape import app_fields

    doc = {
        "app": "echo-chat",
        "app_id": APP_ID,
        "mode": "advanced-chat",
        "key": "app-********WkCF",
        "stored": True,
    }
    return {**doc, **app_fields(APP_ID, "echo-chat", "advanced-chat")}


def profile_list() -> Any:
    return [{"name": "default", "current": True, **_profile().to_yaml_dict()}]


def _profile() -> Any:
    from difyctl.config import Profile

    return Profile(
        name="default", base_url="https://dify.example.com", email="ops@example.com", apps={"support": APP_ID}
    )


def profile_show() -> Any:
    return {"name": "default", **_profile().to_yaml_dict(), "logged_in": True}


def profile_use() -> Any:
    return {"current": "default"}


def profile_delete() -> Any:
    return {"deleted": "staging", "secrets_removed": 2}


def alias_env_name(alias: str) -> str:
    from difyctl.config import alias_env_name as name

    return name(alias)


def profile_alias_set() -> Any:
    return {
        "profile": "default",
        "alias": "support",
        "app_id": APP_ID,
        "app_name": "echo-chat",
        "app_mode": "advanced-chat",
        "replaced": None,
        "key_env": alias_env_name("support"),
    }


def profile_alias_list() -> Any:
    return [{"alias": "support", "app_id": APP_ID, "key_env": alias_env_name("support")}]


def profile_alias_remove() -> Any:
    return {"profile": "default", "alias": "support", "app_id": APP_ID, "removed": True}


# (command, what it is, its example): the order of docs/json.md
SECTIONS: list[tuple[str, str, Callable[[], Any]]] = [
    (
        "apps list",
        "A list of app objects (an app itself is `id`, `name`, `mode`). `enable_api` is null here: Dify's"
        " app list does not return it (api/fields/app_fields.py, app_partial_fields); `apps show` does.",
        apps_list,
    ),
    ("apps show", "One app object.", apps_show),
    ("run", "One run: the answer (chat, completion) or `outputs` (workflow), usage, latency.", run),
    ("export", "The DSL (`dsl`), or `path` and `bytes` with `--file`.", export),
    ("versions list", "The published versions of a workflow app, newest first.", versions_list),
    ("snapshot create", "The list key is `snapshots`; one row per app.", snapshot_create),
    ("snapshot list", "Sidecars of the store (`snapshot show` adds `path` and `verified`).", snapshot_list),
    (
        "snapshot diff",
        "A semantic diff; its `app` key lists app-level changes (`summary.app` counts them).",
        snapshot_diff,
    ),
    ("snapshot prune", "The tags removed, kept and protected.", snapshot_prune),
    (
        "keys list",
        "The service API keys of an app (tokens masked; `keys create` adds `app`, `stored`).",
        keys_list,
    ),
    ("keys rotate", "The list key is `results`; one rotation per app.", keys_rotate),
    ("health", "The list key is `results`; `summary` counts them.", health),
    ("secrets list", "The environment variables of an app's draft (secrets masked).", secrets_list),
    (
        "secrets rotate",
        "One change (`secrets set` is the same shape); `name` is the variable.",
        secrets_rotate,
    ),
    ("broadcast", "The list key is `targets`; `summary` aggregates latency, tokens, price.", broadcast),
    (
        "rollback",
        "One change: `status`, the `steps` taken, the safety snapshot (`pre_rollback`) and the `diff`."
        " With `--dry-run` (or nothing to change) the plan instead: see `rollback --dry-run`.",
        rollback,
    ),
    (
        "rollback --dry-run",
        "The plan (`status` is `planned` or `unchanged`); `apply`, `promote` and a dry-run of each print"
        " this shape too (promote adds `from` and `to`).",
        rollback_dry_run,
    ),
    (
        "promote",
        "To an existing app: the `rollback` shape plus `from` and `to`. With `--create` (below): the new"
        " app (`app`) and the steps of creating it; `--dry-run` gives `status: would-create`.",
        promote,
    ),
    (
        "apply",
        "The list key is `apps`; one item per DSL file. `--dry-run` prints the plan (`changes`,"
        " `summary`, `apps` without `status`).",
        apply,
    ),
    (
        "validate",
        "The report: counts per rung in `summary`, failing and repaired samples in `documents`.",
        validate,
    ),
    ("webhook verify", "The verdict on one signed notice.", webhook_verify),
    ("login", "The saved profile and the logged-in user.", login),
    (
        "logout",
        "`server` is false when the server was not reached (the local session is gone anyway).",
        logout,
    ),
    (
        "status",
        "`workspace.id` is what `DIFY_WORKSPACE_ID` needs; `error` and `hint` are added when not logged"
        " in or unreachable.",
        status,
    ),
    (
        "version",
        "`base_url`, `server_version`, `reachable` only when a server is configured; `problem` (why the"
        " version is unknown) only when it is unreachable.",
        version,
    ),
    (
        "profile list",
        "The profiles (no secrets); `apps` (alias -> app id) and `email` only when set.",
        profile_list,
    ),
    ("profile show", "One profile (`apps`, `email` as in `profile list`).", profile_show),
    ("profile use", "The profile now current.", profile_use),
    ("profile delete", "The profile deleted and how many stored secrets went with it.", profile_delete),
    (
        "profile alias set",
        "The alias and the app it names (`replaced`: the app id it named before).",
        profile_alias_set,
    ),
    (
        "profile alias list",
        "An alias stores only the app id (`profile alias set` resolves name and mode).",
        profile_alias_list,
    ),
    ("profile alias remove", "The alias removed.", profile_alias_remove),
    ("snapshot show", "One sidecar, its `path` and whether its checksum `verified`.", snapshot_show),
    ("snapshot verify", "The problems found in the store (`ok` when none).", snapshot_verify),
    (
        "keys create",
        "The new key (masked; `--show-secret` shows it once) and whether it was `stored`.",
        keys_create,
    ),
    ("keys revoke", "The key revoked.", keys_revoke),
    ("keys set", "The key stored for the app (masked).", keys_set),
    ("secrets set", "The `secrets rotate` shape.", secrets_rotate),
    ("credentials list", "The model providers with custom credentials.", credentials_list),
    ("credentials rotate", "One rotation of a provider credential, with its steps.", credentials_rotate),
]


def _type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, str):
        return "string"
    return "array" if isinstance(value, list) else "object"


def _keys(value: Any, prefix: str, out: list[tuple[str, str]]) -> None:
    if isinstance(value, dict):
        for key, item in value.items():
            path = f"{prefix}.{key}" if prefix else key
            out.append((path, _type(item)))
            _keys(item, path, out)
    elif isinstance(value, list) and value and isinstance(value[0], dict):
        _keys(value[0], f"{prefix}[]", out)


def render() -> str:
    from difyctl import jsonshape

    out = [
        "# JSON output\n",
        "Generated by `python -m difyctl.cli.jsondoc > docs/json.md`; do not edit by hand.\n",
        "Every command takes `-o json`: one document on stdout. The rules (`difyctl/jsonshape.py`):\n",
        (jsonshape.__doc__ or "").split("\n\n")[1] + "\n",
        "The examples are the result classes' own `to_dict()` on sample values.\n",
    ]
    for command, what, example in SECTIONS:
        doc = example()
        top = "a list" if isinstance(doc, list) else "an object"
        rows: list[tuple[str, str]] = []
        _keys(doc, "", rows)
        out.append(f"## `difyctl {command} -o json`\n\n{what} The document is {top}.\n")
        out.append(f"```json\n{json.dumps(doc, indent=2, ensure_ascii=False)}\n```\n")
        out.append("| key | type in the example |\n|---|---|")
        out.append("\n".join(f"| `{path}` | {kind} |" for path, kind in rows) + "\n")
    return "\n".join(out)


if __name__ == "__main__":
    import sys

    sys.stdout.write(render())
