"""A local Dify-compatible server (Dify 1.16.0 or 1.13.2 wire format) for quickstart, tests and benchmarks.

Importing this package is cheap: starlette and uvicorn load only when a server starts.
"""

from __future__ import annotations

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
