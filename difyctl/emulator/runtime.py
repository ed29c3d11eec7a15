"""The running emulator's shared objects: config, state, faults, sessions, concurrency slots."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Any

from difyctl.emulator.auth import SessionStore
from difyctl.emulator.config import Behaviour, EmulatorConfig
from difyctl.emulator.faults import Faults
from difyctl.emulator.models import App
from difyctl.emulator.oauth import OAuthStore
from difyctl.emulator.state import State

PENDING_IMPORT_TTL = 600.0


@dataclass
class PendingImport:
    id: str
    account_id: str
    yaml_content: str
    app_id: str | None
    overrides: dict[str, Any]
    imported_version: str
    expires_at: float


@dataclass
class Emulator:
    config: EmulatorConfig
    state: State = field(init=False)
    behaviour: Behaviour = field(init=False)
    faults: Faults = field(init=False)
    secret: bytes = b""
    sessions: SessionStore = field(default_factory=SessionStore)
    oauth: OAuthStore = field(default_factory=OAuthStore)
    pending_imports: dict[str, PendingImport] = field(default_factory=dict)
    leaked_dependencies: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    closing: bool = False
    _active: dict[str, int] = field(default_factory=dict)
    _slots_lock: threading.Lock = field(default_factory=threading.Lock)

    def __post_init__(self) -> None:
        cfg = self.config
        self.state = State(cfg.clock, cfg.state_file)
        self.behaviour = cfg.behaviour
        self.secret = bytes.fromhex(self.state.jwt_secret)
        self.faults = Faults(
            latency_ms=cfg.latency_ms,
            jitter_ms=cfg.jitter_ms,
            latency_dist=cfg.latency_dist,
            error_rate_5xx=cfg.error_rate_5xx,
            rate_limit_rate=cfg.rate_limit_rate,
            stream_cut_rate=cfg.stream_cut_rate,
            midstream_error_rate=cfg.midstream_error_rate,
            rng_seed=cfg.rng_seed,
        )

    def clock(self) -> float:
        return self.config.clock()

    def now(self) -> int:
        return int(self.config.clock())

    @property
    def version(self) -> str:
        return self.config.server_version

    # -- per-app concurrency (Dify's max_active_requests / APP_MAX_ACTIVE_REQUESTS) -------------
    def app_limit(self, app: App) -> int:
        if app.max_active_requests:
            return app.max_active_requests
        return self.config.max_active_requests

    def acquire_slot(self, app: App) -> bool:
        limit = self.app_limit(app)
        with self._slots_lock:
            current = self._active.get(app.id, 0)
            if limit > 0 and current >= limit:
                return False
            self._active[app.id] = current + 1
            return True

    def release_slot(self, app_id: str) -> None:
        with self._slots_lock:
            current = self._active.get(app_id, 0) - 1
            if current <= 0:
                self._active.pop(app_id, None)
            else:
                self._active[app_id] = current

    def active_requests(self, app_id: str) -> int:
        with self._slots_lock:
            return self._active.get(app_id, 0)
