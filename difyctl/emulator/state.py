"""In-memory state behind one RLock, optionally persisted as JSON after every mutation."""

from __future__ import annotations

import json
import os
import secrets
import tempfile
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from difyctl.emulator.models import Account, ApiKey, App, ProviderCredential, new_api_token, new_id

STATE_FORMAT = 1
MAX_RUN_RECORDS = 20_000


@dataclass
class Conversation:
    id: str
    app_id: str
    user: str
    name: str
    inputs: dict[str, Any]
    created_at: int
    updated_at: int
    messages: list[dict[str, Any]] = field(default_factory=list)


class State:
    """The emulator's world. Every read/modify goes through ``lock``; ``mutate()`` also persists."""

    def __init__(self, clock: Callable[[], float], path: Path | None = None) -> None:
        self.lock = threading.RLock()
        self.clock = clock
        self.path = path
        self.setup_at: int | None = None
        self.jwt_secret = secrets.token_hex(32)  # persisted: access tokens survive a restart
        self.tenant_id = new_id()
        self.tenant_name = "Admin's Workspace"
        self.accounts: dict[str, Account] = {}
        self.apps: dict[str, App] = {}
        self.provider_credentials: dict[str, ProviderCredential] = {}
        self.active_credentials: dict[str, str] = {}  # provider -> credential id
        self._seq = 0
        self._tokens: dict[str, tuple[str, ApiKey]] = {}
        # Ephemeral records (not persisted): bounded so benchmarks cannot grow memory without limit.
        self.conversations: OrderedDict[str, Conversation] = OrderedDict()
        self.workflow_runs: OrderedDict[str, dict[str, Any]] = OrderedDict()

    def now(self) -> int:
        return int(self.clock())

    # -- persistence ---------------------------------------------------------------------------
    @contextmanager
    def mutate(self) -> Iterator[None]:
        with self.lock:
            yield
            self._reindex()
            self.save()

    def to_dict(self) -> dict[str, Any]:
        with self.lock:
            return {
                "format": STATE_FORMAT,
                "setup_at": self.setup_at,
                "jwt_secret": self.jwt_secret,
                "tenant_id": self.tenant_id,
                "tenant_name": self.tenant_name,
                "seq": self._seq,
                "accounts": [asdict(a) for a in self.accounts.values()],
                "apps": [a.to_dict() for a in self.apps.values()],
                "provider_credentials": [asdict(c) for c in self.provider_credentials.values()],
                "active_credentials": dict(self.active_credentials),
            }

    def load_dict(self, data: dict[str, Any]) -> None:
        with self.lock:
            self.setup_at = data.get("setup_at")
            self.jwt_secret = str(data.get("jwt_secret") or self.jwt_secret)
            self.tenant_id = str(data.get("tenant_id") or self.tenant_id)
            self.tenant_name = str(data.get("tenant_name") or self.tenant_name)
            self._seq = int(data.get("seq", 0))
            self.accounts = {a["id"]: Account.from_dict(a) for a in data.get("accounts", [])}
            self.apps = {a["id"]: App.from_dict(a) for a in data.get("apps", [])}
            creds = data.get("provider_credentials", [])
            self.provider_credentials = {c["id"]: ProviderCredential.from_dict(c) for c in creds}
            self.active_credentials = dict(data.get("active_credentials", {}))
            self._reindex()

    def save(self) -> None:
        """Write atomically: temp file in the same folder, fsync, os.replace."""
        if self.path is None:
            return
        text = json.dumps(self.to_dict(), ensure_ascii=False, indent=1, sort_keys=True)
        directory = self.path.parent
        directory.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{self.path.name}.", suffix=".tmp", dir=directory)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                handle.write(text)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(tmp, self.path)
        except BaseException:
            if os.path.exists(tmp):
                os.unlink(tmp)
            raise

    def load(self) -> bool:
        """Load ``path`` if it exists; return whether something was loaded."""
        if self.path is None or not self.path.exists():
            return False
        self.load_dict(json.loads(self.path.read_text(encoding="utf-8")))
        return True

    # -- accounts ------------------------------------------------------------------------------
    @property
    def is_setup(self) -> bool:
        return self.setup_at is not None

    def owner(self) -> Account | None:
        for account in self.accounts.values():
            if account.role == "owner":
                return account
        return None

    def account_by_email(self, email: str) -> Account | None:
        wanted = email.strip().lower()
        for account in self.accounts.values():
            if account.email.lower() == wanted:
                return account
        return None

    def add_account(self, email: str, name: str, password: str, role: str) -> Account:
        account = Account(id=new_id(), email=email, name=name, password=password, role=role)
        account.created_at = self.now()
        self.accounts[account.id] = account
        return account

    # -- apps ----------------------------------------------------------------------------------
    def add_app(self, app: App) -> App:
        self._seq += 1
        app.seq = self._seq
        self.apps[app.id] = app
        return app

    def get_app(self, app_id: str) -> App | None:
        return self.apps.get(app_id)

    def app_by_name(self, name: str) -> App | None:
        for app in self.apps.values():
            if app.name == name:
                return app
        return None

    def list_apps(self, mode: str | None = None, name: str | None = None) -> list[App]:
        """Newest first (created_at desc); ties keep creation order, as the recordings show."""
        apps = [a for a in self.apps.values() if mode in (None, "all", a.mode)]
        if name:
            apps = [a for a in apps if name.lower() in a.name.lower()]
        return sorted(apps, key=lambda a: (-a.created_at, a.seq))

    # -- keys ----------------------------------------------------------------------------------
    def _reindex(self) -> None:
        self._tokens = {k.token: (app.id, k) for app in self.apps.values() for k in app.api_keys}

    def add_key(self, app: App) -> ApiKey:
        key = ApiKey(id=new_id(), token=new_api_token(), created_at=self.now())
        app.api_keys.append(key)
        return key

    def app_for_token(self, token: str) -> tuple[App, ApiKey] | None:
        with self.lock:
            hit = self._tokens.get(token)
            if hit is None:
                return None
            app = self.apps.get(hit[0])
            return (app, hit[1]) if app is not None else None

    # -- model-provider credentials ----------------------------------------------------------------
    def credentials_of(self, provider: str) -> list[ProviderCredential]:
        found = [c for c in self.provider_credentials.values() if c.provider == provider]
        return sorted(found, key=lambda c: (c.created_at, c.name))

    def active_credential(self, provider: str) -> ProviderCredential | None:
        cred_id = self.active_credentials.get(provider)
        return self.provider_credentials.get(cred_id) if cred_id else None

    def add_credential(self, provider: str, name: str, credentials: dict[str, Any]) -> ProviderCredential:
        cred = ProviderCredential(new_id(), provider, name, dict(credentials), self.now())
        self.provider_credentials[cred.id] = cred
        self.active_credentials[provider] = cred.id
        return cred

    # -- ephemeral run records ---------------------------------------------------------------------
    def remember_run(self, run: dict[str, Any]) -> None:
        with self.lock:
            self.workflow_runs[run["id"]] = run
            while len(self.workflow_runs) > MAX_RUN_RECORDS:
                self.workflow_runs.popitem(last=False)

    def remember_conversation(self, conv: Conversation) -> None:
        with self.lock:
            self.conversations[conv.id] = conv
            while len(self.conversations) > MAX_RUN_RECORDS:
                self.conversations.popitem(last=False)
