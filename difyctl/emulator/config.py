"""Configuration of the emulator: a plain dataclass, importable without starlette."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

DIFY_VERSION = "1.16.0"  # the newest recorded server: the default of `emulator serve` and the tests
LEGACY_VERSION = "1.8.1"
SUPPORTED_VERSIONS = ("1.13.2", "1.16.0")  # one folder of recordings each (tests/contract/recordings)
# The DSL version each server exports and checks imports against (fixtures 1.13.2/059, 1.16.0/015).
DSL_VERSIONS = {"1.13.2": "0.6.0", "1.16.0": "0.7.0"}
CURRENT_DSL_VERSION = DSL_VERSIONS[DIFY_VERSION]

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

    @property
    def behaviour(self) -> Behaviour:
        return behaviour_of(self.server_version)


def version_tuple(text: str) -> tuple[int, ...]:
    parts = []
    for part in text.split("."):
        digits = "".join(ch for ch in part if ch.isdigit())
        parts.append(int(digits or 0))
    return tuple(parts)


@dataclass(frozen=True)
class Behaviour:
    """What differs between the recorded servers (fixtures/dify-1.16.0/README.md, "What differs")."""

    dsl_version: str
    # 1.16: stream text (text_chunk / message) is sent right after workflow_started, before the node
    # events, and an End node with several outputs streams them joined by "\n" chunks (1.16.0/040, 044)
    text_before_nodes: bool
    # 1.16: a streaming run with a missing required input ends at once with workflow_finished
    # status "failed" (1.16.0/042); 1.13.2 sends a ping and then nothing (1.13.2/039)
    missing_input_fails_stream: bool
    # 1.13: the Start node's inputs/outputs carry the sys.* variables; 1.16: only the form's (1.16.0/040)
    start_node_sys_vars: bool
    # 1.16: message metadata carries "reasoning": {} (1.16.0/043, 044)
    message_reasoning: bool
    # 1.16: app list/detail and import bodies carry permission_keys, maintainer, ... (1.16.0/011, 012, 014)
    app_fields_1_16: bool
    # /openapi/v1 (Dify >= 1.15, OPENAPI_ENABLED): version probe, device flow, apps (1.16.0/002-070)
    openapi: bool
    # POST /console/api/workspaces/current since 1.10.1 (1.16.0/009-010); GET before
    workspace_current_method: str


def behaviour_of(version: str) -> Behaviour:
    new = version_tuple(version) >= (1, 15)
    return Behaviour(
        dsl_version=DSL_VERSIONS["1.16.0" if new else "1.13.2"],
        text_before_nodes=new,
        missing_input_fails_stream=new,
        start_node_sys_vars=not new,
        message_reasoning=new,
        app_fields_1_16=new,
        openapi=new,
        workspace_current_method="POST" if version_tuple(version) >= (1, 10, 1) else "GET",
    )
