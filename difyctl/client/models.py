"""Typed results of the client. Each has `from_api(dict)` (tolerant of missing and extra fields)
and `to_dict()` (the stable JSON shape that `-o json` prints)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

APP_MODES = ("chat", "advanced-chat", "agent-chat", "completion", "workflow")
CHAT_MODES = frozenset({"chat", "advanced-chat", "agent-chat"})
WORKFLOW_MODES = frozenset({"workflow", "advanced-chat"})


def _opt_str(value: Any) -> str | None:
    return None if value is None else str(value)


def _opt_int(value: Any) -> int | None:
    try:
        return None if value is None else int(value)
    except (TypeError, ValueError):
        return None


def _opt_float(value: Any) -> float | None:
    try:
        return None if value is None else float(value)
    except (TypeError, ValueError):
        return None


@dataclass(frozen=True)
class Account:
    id: str
    name: str
    email: str

    @classmethod
    def from_api(cls, d: dict[str, Any]) -> Account:
        return cls(id=str(d.get("id", "")), name=str(d.get("name") or ""), email=str(d.get("email") or ""))

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class App:
    id: str
    name: str
    mode: str
    description: str = ""
    published_workflow_id: str | None = None  # None: never published (workflow/advanced-chat)
    created_at: int | None = None
    updated_at: int | None = None
    tags: tuple[str, ...] = ()
    enable_api: bool | None = None
    max_active_requests: int | None = None

    @classmethod
    def from_api(cls, d: dict[str, Any]) -> App:
        workflow = d.get("workflow")
        return cls(
            id=str(d["id"]),
            name=str(d.get("name") or ""),
            mode=str(d.get("mode") or ""),
            description=str(d.get("description") or ""),
            published_workflow_id=_opt_str(workflow.get("id")) if isinstance(workflow, dict) else None,
            created_at=_opt_int(d.get("created_at")),
            updated_at=_opt_int(d.get("updated_at")),
            tags=tuple(str(t.get("name", "")) for t in d.get("tags") or [] if isinstance(t, dict)),
            enable_api=d.get("enable_api") if isinstance(d.get("enable_api"), bool) else None,
            max_active_requests=_opt_int(d.get("max_active_requests")),
        )

    @property
    def is_published(self) -> bool:
        return self.mode not in WORKFLOW_MODES or self.published_workflow_id is not None

    def to_dict(self) -> dict[str, Any]:
        from difyctl.jsonshape import with_iso

        out = asdict(self)
        out["tags"] = list(self.tags)
        return with_iso(out, ("created_at", "updated_at"))


@dataclass(frozen=True)
class AppPage:
    items: tuple[App, ...]
    page: int
    limit: int
    total: int
    has_more: bool


@dataclass(frozen=True)
class ApiKey:
    id: str
    token: str
    created_at: int | None = None
    last_used_at: int | None = None

    @classmethod
    def from_api(cls, d: dict[str, Any]) -> ApiKey:
        return cls(
            id=str(d["id"]),
            token=str(d.get("token") or ""),
            created_at=_opt_int(d.get("created_at")),
            last_used_at=_opt_int(d.get("last_used_at")),
        )

    def to_dict(self, *, show_secret: bool = False) -> dict[str, Any]:
        from difyctl.jsonshape import iso
        from difyctl.redact import mask

        return {
            "id": self.id,
            "token": self.token if show_secret else mask(self.token),
            "created_at": self.created_at,
            "last_used_at": self.last_used_at,
            "created_at_iso": iso(self.created_at),
            "last_used_at_iso": iso(self.last_used_at),
        }


@dataclass(frozen=True)
class AppInfo:
    """GET /v1/info: what an app key can see of its app (costs no tokens)."""

    name: str
    mode: str
    description: str = ""
    tags: tuple[str, ...] = ()
    author_name: str | None = None

    @classmethod
    def from_api(cls, d: dict[str, Any]) -> AppInfo:
        return cls(
            name=str(d.get("name") or ""),
            mode=str(d.get("mode") or ""),
            description=str(d.get("description") or ""),
            tags=tuple(str(t) for t in d.get("tags") or []),
            author_name=_opt_str(d.get("author_name")),
        )


@dataclass(frozen=True)
class InputField:
    variable: str
    label: str
    type: str  # text-input, paragraph, select, number, file, ...
    required: bool
    max_length: int | None = None
    options: tuple[str, ...] = ()
    default: Any = None


@dataclass(frozen=True)
class AppParameters:
    """GET /v1/parameters, reduced to what difyctl uses."""

    inputs: tuple[InputField, ...]
    opening_statement: str = ""

    @classmethod
    def from_api(cls, d: dict[str, Any]) -> AppParameters:
        fields: list[InputField] = []
        for item in d.get("user_input_form") or []:
            if not isinstance(item, dict) or not item:
                continue
            kind, spec = next(iter(item.items()))
            if not isinstance(spec, dict):
                continue
            fields.append(
                InputField(
                    variable=str(spec.get("variable", "")),
                    label=str(spec.get("label") or spec.get("variable", "")),
                    type=str(kind),
                    required=bool(spec.get("required", False)),
                    max_length=_opt_int(spec.get("max_length")),
                    options=tuple(str(o) for o in spec.get("options") or []),
                    default=spec.get("default"),
                )
            )
        return cls(inputs=tuple(fields), opening_statement=str(d.get("opening_statement") or ""))


@dataclass(frozen=True)
class Usage:
    prompt_tokens: int = 0
    completion_tokens: int = 0
    total_tokens: int = 0
    total_price: str | None = None  # Dify sends decimals as strings: keep them exact
    currency: str | None = None
    latency_s: float | None = None

    @classmethod
    def from_api(cls, d: dict[str, Any] | None) -> Usage:
        if not isinstance(d, dict):
            return cls()
        return cls(
            prompt_tokens=_opt_int(d.get("prompt_tokens")) or 0,
            completion_tokens=_opt_int(d.get("completion_tokens")) or 0,
            total_tokens=_opt_int(d.get("total_tokens")) or 0,
            total_price=_opt_str(d.get("total_price")),
            currency=_opt_str(d.get("currency")),
            latency_s=_opt_float(d.get("latency")),
        )

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class RunResult:
    """One run of an app through the service API, whatever its mode."""

    mode: str
    answer: str | None = None  # chat / completion
    outputs: dict[str, Any] | None = None  # workflow
    conversation_id: str | None = None
    message_id: str | None = None
    task_id: str | None = None
    workflow_run_id: str | None = None
    status: str = "succeeded"  # workflow: succeeded | failed | stopped | partial-succeeded
    error: str | None = None
    usage: Usage = field(default_factory=Usage)
    latency_ms: float | None = None
    ttft_ms: float | None = None  # streaming only: time to the first answer/text chunk

    @property
    def ok(self) -> bool:
        return self.status in ("succeeded", "partial-succeeded") and self.error is None

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"mode": self.mode}
        if self.outputs is not None or self.mode == "workflow":
            out["outputs"] = self.outputs
        else:
            out["answer"] = self.answer
        out.update(
            conversation_id=self.conversation_id,
            message_id=self.message_id,
            task_id=self.task_id,
            workflow_run_id=self.workflow_run_id,
            status=self.status,
            error=self.error,
            usage=self.usage.to_dict(),
            latency_ms=None if self.latency_ms is None else round(self.latency_ms, 1),
            ttft_ms=None if self.ttft_ms is None else round(self.ttft_ms, 1),
        )
        return out


@dataclass(frozen=True)
class StreamEvent:
    """One decoded Dify SSE event: `event` is data["event"] (or the SSE event name, e.g. ping)."""

    event: str
    data: dict[str, Any]


@dataclass(frozen=True)
class ServerInfo:
    base_url: str
    version: str | None  # from X-Version, /health or /v1/
    reachable: bool = True
    # unreachable: "cannot connect to ..." or "no answer from ... in N s"; reachable without a version:
    # what answered instead ("... answered HTTP 200 with text/html, not JSON")
    problem: str | None = None
    problem_hint: str | None = None  # the error's own hint (an unreachable proxy names the variables)


# ---- console: DSL import, workflows, environment variables ------------------------------------

IMPORT_OK = frozenset({"completed", "completed-with-warnings"})


@dataclass(frozen=True)
class ImportResult:
    """POST /apps/imports (and /confirm): 200 completed[-with-warnings], 202 pending, 400 failed."""

    id: str
    status: str  # completed | completed-with-warnings | pending | failed
    app_id: str | None = None
    app_mode: str | None = None
    current_dsl_version: str | None = None
    imported_dsl_version: str | None = None
    error: str | None = None

    @classmethod
    def from_api(cls, d: dict[str, Any]) -> ImportResult:
        return cls(
            id=str(d.get("id") or ""),
            status=str(d.get("status") or ""),
            app_id=_opt_str(d.get("app_id")),
            app_mode=_opt_str(d.get("app_mode")),
            current_dsl_version=_opt_str(d.get("current_dsl_version")) or None,
            imported_dsl_version=_opt_str(d.get("imported_dsl_version")) or None,
            error=_opt_str(d.get("error")) or None,
        )

    @property
    def ok(self) -> bool:
        return self.status in IMPORT_OK

    @property
    def pending(self) -> bool:
        return self.status == "pending"

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


SECRET_MASK = "*" * 20  # how GET draft/publish shows a stored secret
HIDDEN_VALUE = "[__HIDDEN__]"  # send this (with the variable's id) to keep a stored secret


@dataclass(frozen=True)
class EnvVar:
    """A workflow environment variable: {id, name, value, value_type, description}."""

    id: str
    name: str
    value: Any
    value_type: str  # string | number | secret
    description: str = ""

    @classmethod
    def from_api(cls, d: dict[str, Any]) -> EnvVar:
        return cls(
            id=str(d.get("id") or ""),
            name=str(d.get("name") or ""),
            value=d.get("value"),
            value_type=str(d.get("value_type") or "string"),
            description=str(d.get("description") or ""),
        )

    @property
    def is_secret(self) -> bool:
        return self.value_type == "secret"

    def to_api(self) -> dict[str, Any]:
        """The draft-sync shape (the selector is derived by Dify)."""
        return {
            "id": self.id,
            "name": self.name,
            "value": self.value,
            "value_type": self.value_type,
            "description": self.description,
        }

    def to_dict(self, *, show_secret: bool = False) -> dict[str, Any]:
        out = self.to_api()
        if self.is_secret and not show_secret:
            out["value"] = SECRET_MASK if self.value else ""
        return out


@dataclass(frozen=True)
class Workflow:
    """A draft, the published workflow, or one row of the version list (same shape in Dify)."""

    id: str
    version: str  # "draft" or the publish time as a string
    hash: str
    graph: dict[str, Any]
    features: dict[str, Any]
    environment_variables: tuple[EnvVar, ...] = ()
    conversation_variables: tuple[dict[str, Any], ...] = ()
    marked_name: str = ""
    marked_comment: str = ""
    created_at: int | None = None
    updated_at: int | None = None

    @classmethod
    def from_api(cls, d: dict[str, Any]) -> Workflow:
        return cls(
            id=str(d.get("id") or ""),
            version=str(d.get("version") or ""),
            hash=str(d.get("hash") or ""),
            graph=dict(d.get("graph") or {}),
            features=dict(d.get("features") or {}),
            environment_variables=tuple(
                EnvVar.from_api(v) for v in d.get("environment_variables") or [] if isinstance(v, dict)
            ),
            conversation_variables=tuple(
                v for v in d.get("conversation_variables") or [] if isinstance(v, dict)
            ),
            marked_name=str(d.get("marked_name") or ""),
            marked_comment=str(d.get("marked_comment") or ""),
            created_at=_opt_int(d.get("created_at")),
            updated_at=_opt_int(d.get("updated_at")),
        )

    @property
    def is_draft(self) -> bool:
        return self.version == "draft"

    def to_dict(self) -> dict[str, Any]:
        """Summary shape for `versions list -o json` (no graph)."""
        return {
            "id": self.id,
            "version": self.version,
            "hash": self.hash,
            "marked_name": self.marked_name,
            "marked_comment": self.marked_comment,
            "created_at": self.created_at,
            "updated_at": self.updated_at,
        }


@dataclass(frozen=True)
class WorkflowPage:
    items: tuple[Workflow, ...]  # newest first; includes the draft row on page 1
    page: int
    limit: int
    has_more: bool


# ---- console: workspace role, model-provider credentials ---------------------------------------

ADMIN_ROLES = frozenset({"owner", "admin"})


@dataclass(frozen=True)
class WorkspaceInfo:
    """GET /workspaces/current: the workspace and the caller's role in it."""

    id: str
    name: str
    role: str | None = None

    @classmethod
    def from_api(cls, d: dict[str, Any]) -> WorkspaceInfo:
        return cls(id=str(d.get("id") or ""), name=str(d.get("name") or ""), role=_opt_str(d.get("role")))

    @property
    def is_admin(self) -> bool:
        return self.role in ADMIN_ROLES


@dataclass(frozen=True)
class ProviderCredentialRef:
    id: str
    name: str


@dataclass(frozen=True)
class ModelProvider:
    """One row of GET /workspaces/current/model-providers (custom configuration only)."""

    provider: str
    status: str
    current_credential_id: str | None = None
    current_credential_name: str | None = None
    credentials: tuple[ProviderCredentialRef, ...] = ()

    @classmethod
    def from_api(cls, d: dict[str, Any]) -> ModelProvider:
        custom = d.get("custom_configuration") if isinstance(d.get("custom_configuration"), dict) else {}
        assert isinstance(custom, dict)
        refs = tuple(
            ProviderCredentialRef(str(c.get("credential_id") or ""), str(c.get("credential_name") or ""))
            for c in custom.get("available_credentials") or []
            if isinstance(c, dict)
        )
        return cls(
            provider=str(d.get("provider") or ""),
            status=str(custom.get("status") or ""),
            current_credential_id=_opt_str(custom.get("current_credential_id")),
            current_credential_name=_opt_str(custom.get("current_credential_name")),
            credentials=refs,
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "provider": self.provider,
            "status": self.status,
            "current_credential_id": self.current_credential_id,
            "current_credential_name": self.current_credential_name,
            "credentials": [{"id": c.id, "name": c.name} for c in self.credentials],
        }
