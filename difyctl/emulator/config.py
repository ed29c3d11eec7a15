"""Configuration of the emulator: a plain dataclass, importable without starlette."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

DIFY_VERSION = "1.13.2"
LEGACY_VERSION = "1.8.1"
CURRENT_DSL_VERSION = "0.6.0"

DEMO_EMAIL = "admin@example.com"
DEMO_PASSWORD = "DemoPass123"
DEMO_NAME = "Admin"
EDITOR_EMAIL = "editor@example.com"
EDITOR_PASSWORD = "EditorPass123"


@dataclass
class EmulatorConfig:
    """Everything a running emulator needs to know. All fields have safe defaults."""

    host: str = "127.0.0.1"
    port: int = 0
    seed: str | None = "demo"
    apps: int = 0
    latency_ms: float = 0.0
    jitter_ms: float = 0.0
    latency_dist: str = "fixed"
    state_file: Path | None = None
    cookie_prefix: str = ""
    cookie_secure: bool = False
    access_token_ttl: int = 3600
    refresh_token_ttl: int = 30 * 24 * 3600
    legacy_auth: bool = False
    admin_api_key: str | None = None
    init_password: str | None = None
    ping_interval: float = 10.0
    rng_seed: int = 0
    version: str | None = None
    max_active_requests: int = 0
    # fault rates at start (tests change server.faults at runtime; `emulator serve` sets these)
    error_rate_5xx: float = 0.0
    rate_limit_rate: float = 0.0
    stream_cut_rate: float = 0.0
    midstream_error_rate: float = 0.0
    max_keys_per_app: int = 10
    silent_stream_timeout: float = 300.0
    clock: Callable[[], float] = field(default=time.time, repr=False)

    @property
    def server_version(self) -> str:
        if self.version:
            return self.version
        return LEGACY_VERSION if self.legacy_auth else DIFY_VERSION
