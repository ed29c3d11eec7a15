"""A local Dify-compatible server (Dify 1.16.0 or 1.13.2 wire format) for quickstart, tests and benchmarks.

Importing this package is cheap: its names load on first use (every CLI start imports
`difyctl.emulator.config` for `emulator serve`'s options, which must not load the server's models,
auth and state: ~50 ms and a few MB on every command), and starlette and uvicorn only when a server
starts.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from difyctl.emulator.config import (
        CURRENT_DSL_VERSION,
        DEMO_EMAIL,
        DEMO_PASSWORD,
        DIFY_VERSION,
        EDITOR_EMAIL,
        EDITOR_PASSWORD,
        EmulatorConfig,
    )
    from difyctl.emulator.faults import Faults
    from difyctl.emulator.server import EmulatorServer, is_loopback, serve_forever

_WHERE = {
    "CURRENT_DSL_VERSION": "config",
    "DEMO_EMAIL": "config",
    "DEMO_PASSWORD": "config",
    "DIFY_VERSION": "config",
    "EDITOR_EMAIL": "config",
    "EDITOR_PASSWORD": "config",
    "EmulatorConfig": "config",
    "Faults": "faults",
    "EmulatorServer": "server",
    "is_loopback": "server",
    "serve_forever": "server",
}

__all__ = [
    "CURRENT_DSL_VERSION",
    "DEMO_EMAIL",
    "DEMO_PASSWORD",
    "DIFY_VERSION",
    "EDITOR_EMAIL",
    "EDITOR_PASSWORD",
    "EmulatorConfig",
    "EmulatorServer",
    "Faults",
    "is_loopback",
    "serve_forever",
]


def __getattr__(name: str) -> Any:
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module 'difyctl.emulator' has no attribute {name!r}")
    value = getattr(importlib.import_module(f"difyctl.emulator.{module}"), name)
    globals()[name] = value
    return value
