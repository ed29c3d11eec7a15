"""An in-memory console with the draft / published / secret semantics of a real Dify 1.13 server
(fixtures/README.md), plus fault injection: "raise X before/after the n-th call of op Y"."""

from __future__ import annotations

import copy
import hashlib
import json
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import yaml

from difyctl.client.errors import ConflictError, DifyError, NotFoundError
from difyctl.client.models import App

CURRENT_DSL = "0.6.0"
_DUMPER: Any = getattr(yaml, "CSafeDumper", yaml.SafeDumper)
_LOADER: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
MASK = "*" * 20
HIDDEN = "[__HIDDEN__]"
WORKFLOW_MODES = {"workflow", "advanced-chat"}


class Killed(BaseException):
    """The process is killed: nothing in the engine may catch this (no restore can run)."""


@dataclass(frozen=True)
class FakeImport:
    id: str
    status: str
    app_id: str | None = None
    error: str | None = None
    current_dsl_version: str | None = CURRENT_DSL
    imported_dsl_version: str | None = None


@dataclass
class FakeApp:
    id: str
    name: str
    mode: str
    description: str = ""
    draft: dict[str, Any] = field(
        default_factory=dict
    )  # {workflow: ..., dependencies: ...} or {model_config}
    versions: dict[str, dict[str, Any]] = field(default_factory=dict)
    published_id: str | None = None


@dataclass
class Fault:
    op: str
    exc: BaseException
    stage: str  # before | after
    call: int  # the n-th call of op counted from when the fault was injected


def _version_tuple(v: Any) -> tuple[int, ...]:
    try:
        return tuple(int(x) for x in str(v).split("."))
    except ValueError:
        return (0,)


def _hash(wf: Mapping[str, Any]) -> str:
    body = json.dumps({"graph": wf.get("graph"), "features": wf.get("features")}, sort_keys=True)
    return hashlib.sha256(body.encode()).hexdigest()


class FakeConsole:
    def __init__(self) -> None:
        self.apps: dict[str, FakeApp] = {}
        self.pending: dict[str, tuple[dict[str, Any], str | None]] = {}
        self.calls: list[str] = []
        self.counts: Counter[str] = Counter()
        self.faults: list[Fault] = []
        self.reject_imports = 0  # the next n imports answer status failed
        self.corrupt_publishes = 0  # the next n publishes store something else than the draft
        self._seq = 0

    # ------------------------------------------------------------------------------ test helpers
    def _next(self, prefix: str) -> str:
        self._seq += 1
        return f"{prefix}-{self._seq:04d}"

    def add_app(self, doc: Mapping[str, Any], app_id: str, *, publish: bool = True) -> FakeApp:
        app = FakeApp(id=app_id, name=doc["app"]["name"], mode=doc["app"]["mode"])
        self.apps[app_id] = app
        self._store(app, copy.deepcopy(dict(doc)))
        if publish and app.mode in WORKFLOW_MODES:
            self._publish(app)
        return app

    def set_live(self, app_id: str, doc: Mapping[str, Any]) -> None:
        """What a human does in the console: edit the app and publish."""
        app = self.apps[app_id]
        self._store(app, copy.deepcopy(dict(doc)))
        if app.mode in WORKFLOW_MODES:
            self._publish(app)

    def inject(self, op: str, exc: BaseException, *, after: bool = False, call: int = 1) -> None:
        self.faults.append(Fault(op, exc, "after" if after else "before", self.counts[op] + call))

    def doc(self, app_id: str, *, published: bool = True) -> dict[str, Any]:
        """The full stored document (secret values included) of the published version or the draft."""
        app = self.apps[app_id]
        loaded: dict[str, Any] = yaml.load(
            self._export(app, True, app.published_id if published else None), Loader=_LOADER
        )
        return loaded

    # ---------------------------------------------------------------------------------- machinery
    def _enter(self, op: str) -> None:
        self.counts[op] += 1
        self.calls.append(op)
        self._fire(op, "before")

    def _fire(self, op: str, stage: str) -> None:
        for fault in self.faults:
            if fault.op == op and fault.stage == stage and fault.call == self.counts[op]:
                self.faults.remove(fault)
                raise fault.exc

    def _app(self, app_id: str) -> FakeApp:
        if app_id not in self.apps:
            raise NotFoundError("App not found", status_code=404, code="app_not_found")
        return self.apps[app_id]

    def _store(self, app: FakeApp, doc: dict[str, Any]) -> None:
        app.name = doc["app"].get("name", app.name)
        app.description = doc["app"].get("description", app.description)
        if app.mode in WORKFLOW_MODES:
            app.draft = {
                "workflow": copy.deepcopy(doc["workflow"]),
                "dependencies": doc.get("dependencies", []),
            }
        else:
            app.draft = {"model_config": copy.deepcopy(doc.get("model_config") or {}), "dependencies": []}

    def _publish(self, app: FakeApp) -> str:
        wid = self._next("wf")
        app.versions[wid] = copy.deepcopy(app.draft)
        app.published_id = wid
        return wid

    def _export(self, app: FakeApp, include_secret: bool, workflow_id: str | None) -> str:
        if workflow_id is not None and workflow_id not in app.versions:
            raise NotFoundError("Workflow not found", status_code=404, code="not_found")
        body = copy.deepcopy(app.versions[workflow_id] if workflow_id else app.draft)
        doc: dict[str, Any] = {
            "app": {
                "name": app.name,
                "mode": app.mode,
                "description": app.description,
                "icon": "🤖",
                "icon_background": "#FFEAD5",
                "icon_type": "emoji",
                "use_icon_as_answer_icon": False,
            },
            "kind": "app",
            "version": CURRENT_DSL,
            **body,
        }
        if not include_secret:
            for var in (doc.get("workflow") or {}).get("environment_variables") or []:
                if var.get("value_type") == "secret":
                    var["value"] = ""
        return yaml.dump(doc, Dumper=_DUMPER, allow_unicode=True, sort_keys=True)

    def _apply_import(self, doc: dict[str, Any], app_id: str | None) -> FakeImport:
        if app_id is None:
            app_id = self._next("app")
            self.apps[app_id] = FakeApp(app_id, doc["app"]["name"], doc["app"]["mode"])
        app = self.apps[app_id]
        if app.mode not in WORKFLOW_MODES:
            return FakeImport(
                self._next("imp"), "failed", error="Only workflow or advanced chat apps can be overwritten"
            )
        self._store(app, doc)  # like Dify: '' secrets are stored as '' (wiped); no mode check either
        return FakeImport(
            self._next("imp"), "completed", app_id, imported_dsl_version=str(doc.get("version"))
        )

    # ------------------------------------------------------------------------------- the console
    def get_app(self, app_id: str) -> App:
        self._enter("get_app")
        app = self._app(app_id)
        out = App(
            id=app.id,
            name=app.name,
            mode=app.mode,
            published_workflow_id=app.published_id if app.mode in WORKFLOW_MODES else None,
        )
        self._fire("get_app", "after")
        return out

    def delete_app(self, app_id: str) -> None:
        self._enter("delete_app")
        self._app(app_id)
        del self.apps[app_id]
        self._fire("delete_app", "after")

    def export_dsl(self, app_id: str, include_secret: bool = False, workflow_id: str | None = None) -> str:
        self._enter("export_dsl")
        out = self._export(self._app(app_id), include_secret, workflow_id)
        self._fire("export_dsl", "after")
        return out

    def import_dsl(self, yaml_content: str, app_id: str | None = None, name: str | None = None) -> FakeImport:
        self._enter("import_dsl")
        if self.reject_imports:
            self.reject_imports -= 1
            return FakeImport(self._next("imp"), "failed", error="Invalid YAML format")
        if app_id is not None and app_id not in self.apps:
            return FakeImport(self._next("imp"), "failed", error="App not found")
        doc = yaml.load(yaml_content, Loader=_LOADER)
        if _version_tuple(doc.get("version")) > _version_tuple(CURRENT_DSL):
            imp = FakeImport(self._next("imp"), "pending", app_id, imported_dsl_version=str(doc["version"]))
            self.pending[imp.id] = (doc, app_id)
        else:
            imp = self._apply_import(doc, app_id)
        self._fire("import_dsl", "after")
        return imp

    def confirm_import(self, import_id: str) -> FakeImport:
        self._enter("confirm_import")
        if import_id not in self.pending:
            return FakeImport(import_id, "failed", error="Import information expired or does not exist")
        doc, app_id = self.pending.pop(import_id)
        out = self._apply_import(doc, app_id)
        self._fire("confirm_import", "after")
        return out

    def get_draft(self, app_id: str) -> dict[str, Any]:
        self._enter("get_draft")
        wf = copy.deepcopy(self._app(app_id).draft["workflow"])
        env = [
            {**v, "value": MASK if v.get("value_type") == "secret" else v.get("value")}
            for v in wf.get("environment_variables") or []
        ]
        return {
            "graph": wf["graph"],
            "features": wf["features"],
            "hash": _hash(wf),
            "environment_variables": env,
            "conversation_variables": wf.get("conversation_variables") or [],
        }

    def sync_draft(
        self,
        app_id: str,
        *,
        graph: dict[str, Any],
        features: dict[str, Any],
        hash: str | None,
        environment_variables: list[Any],
        conversation_variables: list[Any],
    ) -> dict[str, Any]:
        self._enter("sync_draft")
        app = self._app(app_id)
        old = app.draft["workflow"]
        if hash != _hash(old):
            raise ConflictError("draft not sync", status_code=409, code="draft_workflow_not_sync")
        stored = {v["id"]: v for v in old.get("environment_variables") or []}
        env = []
        for var in environment_variables:
            var = dict(var)
            if (
                var.get("value_type") == "secret"
                and var.get("value") in (HIDDEN, MASK)
                and var["id"] in stored
            ):
                var["value"] = stored[var["id"]]["value"]  # the table: HIDDEN/mask + known id keeps the value
            env.append(var)
        app.draft["workflow"] = {
            **old,
            "graph": graph,
            "features": features,
            "environment_variables": env,
            "conversation_variables": conversation_variables,
        }
        self._fire("sync_draft", "after")
        return {"result": "success", "hash": _hash(app.draft["workflow"])}

    def publish(self, app_id: str, marked_name: str | None = None, marked_comment: str | None = None) -> int:
        self._enter("publish")
        app = self._app(app_id)
        wid = self._publish(app)
        if self.corrupt_publishes:
            self.corrupt_publishes -= 1
            app.versions[wid]["workflow"]["graph"]["nodes"][0]["data"]["title"] = "mangled by the server"
        self._fire("publish", "after")
        return 1795259241

    def update_model_config(self, app_id: str, config: Mapping[str, Any]) -> None:
        self._enter("update_model_config")
        app = self._app(app_id)
        if app.mode in WORKFLOW_MODES:
            raise DifyError("model config of a workflow app")
        app.draft = {"model_config": copy.deepcopy(dict(config)), "dependencies": []}
        self._fire("update_model_config", "after")
