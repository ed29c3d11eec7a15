"""The records the emulator keeps: accounts, apps, workflows, keys. Plain dataclasses, JSON round-trip."""

from __future__ import annotations

import copy
import hashlib
import json
import secrets
import string
import uuid
from dataclasses import asdict, dataclass, field, fields
from typing import Any

APP_MODES = ("chat", "advanced-chat", "agent-chat", "completion", "workflow")
WORKFLOW_MODES = ("workflow", "advanced-chat")
SECRET_MASK = "*" * 20
HIDDEN_VALUE = "[__HIDDEN__]"
_ALNUM = string.ascii_letters + string.digits


def new_id() -> str:
    return str(uuid.uuid4())


def random_token(length: int) -> str:
    return "".join(secrets.choice(_ALNUM) for _ in range(length))


def new_api_token() -> str:
    return "app-" + random_token(24)


def _known(cls: type, data: dict[str, Any]) -> dict[str, Any]:
    names = {f.name for f in fields(cls)}
    return {k: v for k, v in data.items() if k in names}


@dataclass
class Account:
    id: str
    email: str
    name: str
    password: str
    role: str = "owner"
    created_at: int = 0
    last_login_at: int | None = None
    last_login_ip: str | None = None
    interface_language: str = "en-US"
    timezone: str = "America/New_York"

    @property
    def can_edit(self) -> bool:
        return self.role in ("owner", "admin", "editor")

    @property
    def is_admin_or_owner(self) -> bool:
        return self.role in ("owner", "admin")

    def brief(self) -> dict[str, Any]:
        return {"id": self.id, "name": self.name, "email": self.email}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Account:
        return cls(**_known(cls, data))


def workflow_hash(graph: dict[str, Any], features: dict[str, Any]) -> str:
    """Dify's ``Workflow.unique_hash``: sha256 of the sorted JSON of graph + features, plus "None"."""
    text = json.dumps({"graph": graph, "features": features}, sort_keys=True) + "None"
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


@dataclass
class Workflow:
    """A draft (``version == "draft"``) or a frozen published version."""

    id: str
    app_id: str
    version: str
    graph: dict[str, Any]
    features: dict[str, Any]
    environment_variables: list[dict[str, Any]] = field(default_factory=list)
    conversation_variables: list[dict[str, Any]] = field(default_factory=list)
    marked_name: str = ""
    marked_comment: str = ""
    created_by: str = ""
    created_at: int = 0
    updated_by: str | None = None
    updated_at: int = 0

    @property
    def hash(self) -> str:
        return workflow_hash(self.graph, self.features)

    def frozen_copy(self, *, new_version: str, wid: str) -> Workflow:
        clone = copy.deepcopy(self)
        clone.id = wid
        clone.version = new_version
        return clone

    def env_values(self) -> dict[str, Any]:
        return {str(v.get("name")): v.get("value") for v in self.environment_variables}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Workflow:
        return cls(**_known(cls, data))


@dataclass
class ApiKey:
    id: str
    token: str
    created_at: int
    last_used_at: int | None = None

    def to_api(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "type": "app",
            "token": self.token,
            "last_used_at": self.last_used_at,
            "created_at": self.created_at,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ApiKey:
        return cls(**_known(cls, data))


@dataclass
class App:
    id: str
    name: str
    mode: str
    description: str = ""
    icon_type: str = "emoji"
    icon: str = "🤖"
    icon_background: str = "#FFEAD5"
    use_icon_as_answer_icon: bool = False
    created_by: str = ""
    created_at: int = 0
    updated_by: str | None = None
    updated_at: int = 0
    enable_api: bool = True
    enable_site: bool = True
    status: str = "normal"
    max_active_requests: int | None = None
    model_config: dict[str, Any] | None = None
    draft: Workflow | None = None
    versions: list[Workflow] = field(default_factory=list)
    workflow_id: str | None = None
    api_keys: list[ApiKey] = field(default_factory=list)
    site_code: str = field(default_factory=lambda: random_token(16))
    seq: int = 0

    @property
    def is_workflow_mode(self) -> bool:
        return self.mode in WORKFLOW_MODES

    @property
    def published(self) -> Workflow | None:
        if self.workflow_id is None:
            return None
        return self.find_version(self.workflow_id)

    def find_version(self, workflow_id: str) -> Workflow | None:
        for wf in self.versions:
            if wf.id == workflow_id:
                return wf
        return None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> App:
        values = _known(cls, data)
        draft = values.get("draft")
        values["draft"] = Workflow.from_dict(draft) if isinstance(draft, dict) else None
        values["versions"] = [Workflow.from_dict(w) for w in values.get("versions", [])]
        values["api_keys"] = [ApiKey.from_dict(k) for k in values.get("api_keys", [])]
        return cls(**values)


@dataclass
class ProviderCredential:
    """A model-provider credential (phase 2+: rotation of provider secrets)."""

    id: str
    provider: str
    name: str
    credentials: dict[str, Any]
    created_at: int = 0

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ProviderCredential:
        return cls(**_known(cls, data))
