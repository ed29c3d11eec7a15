"""Run the emulator: in a background thread (tests, benchmarks, quickstart) or in the foreground (serve).

Nothing here imports starlette or uvicorn at module level: they are loaded when a server starts.
"""

from __future__ import annotations

import contextlib
import ipaddress
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import replace
from types import TracebackType
from typing import TYPE_CHECKING, Any

from difyctl.emulator.config import EmulatorConfig
from difyctl.emulator.runtime import Emulator

if TYPE_CHECKING:
    import uvicorn

    from difyctl.emulator.faults import Faults
    from difyctl.emulator.state import State

STARTUP_TIMEOUT = 15.0


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def create_emulator(config: EmulatorConfig) -> Emulator:
    """Build the runtime: load ``state_file`` if it exists, else seed (and persist the seed)."""
    from difyctl.emulator.seed import seed

    emu = Emulator(config)
    if emu.state.load():
        emu.secret = bytes.fromhex(emu.state.jwt_secret)
    else:
        seed(emu, config.seed, config.apps)
        with emu.state.lock:
            emu.state.save()
    return emu


def _bind(config: EmulatorConfig) -> socket.socket:
    if not is_loopback(config.host):
        raise ValueError(f"refusing to bind {config.host!r}: the emulator listens on loopback only")
    family = socket.AF_INET6 if ":" in config.host else socket.AF_INET
    # proto=IPPROTO_TCP: asyncio sets TCP_NODELAY on accepted sockets only when proto says TCP;
    # without it every answer waits ~40 ms (Nagle + delayed ACK) on loopback.
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((config.host, config.port))
        sock.listen(2048)
    except OSError:
        sock.close()
        raise
    sock.setblocking(False)
    return sock


def _uvicorn_server(emu: Emulator) -> uvicorn.Server:
    import logging

    import uvicorn

    from difyctl.emulator.app import build_app
    from difyctl.emulator.streaming import quiet_intended_aborts

    error_log = logging.getLogger("uvicorn.error")
    if quiet_intended_aborts not in error_log.filters:
        error_log.addFilter(quiet_intended_aborts)

    settings: dict[str, Any] = {
        "log_level": "warning",
        "log_config": None,
        "access_log": False,
        "lifespan": "off",
        "ws": "none",
        "timeout_keep_alive": 5,
        "timeout_graceful_shutdown": 2,
        "limit_concurrency": None,
        "backlog": 2048,
    }
    return uvicorn.Server(uvicorn.Config(build_app(emu), **settings))


def _url(config: EmulatorConfig, sock: socket.socket) -> str:
    host = f"[{config.host}]" if ":" in config.host else config.host
    return f"http://{host}:{sock.getsockname()[1]}"


class EmulatorServer:
    """A Dify-compatible server on a free loopback port, running in a daemon thread.

    >>> with EmulatorServer() as server:
    ...     httpx.get(server.base_url + "/health")
    """

    def __init__(self, config: EmulatorConfig | None = None, **overrides: Any) -> None:
        base = config or EmulatorConfig()
        self.config = replace(base, **overrides) if overrides else base
        self.emulator = create_emulator(self.config)
        self.base_url = ""
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None
        self._socket: socket.socket | None = None

    @property
    def state(self) -> State:
        return self.emulator.state

    @property
    def faults(self) -> Faults:
        return self.emulator.faults

    def demo_keys(self) -> dict[str, str]:
        """App name -> its first service key."""
        return service_keys(self.emulator)

    def app_id(self, name: str) -> str:
        with self.state.lock:
            app = self.state.app_by_name(name)
        if app is None:
            raise KeyError(name)
        return app.id

    def start(self) -> EmulatorServer:
        if self._thread is not None:
            return self
        sock = _bind(self.config)
        server = _uvicorn_server(self.emulator)
        thread = threading.Thread(
            target=server.run, kwargs={"sockets": [sock]}, name="difyctl-emulator", daemon=True
        )
        self._socket, self._server, self._thread = sock, server, thread
        self.emulator.closing = False
        thread.start()
        deadline = time.monotonic() + STARTUP_TIMEOUT
        while not server.started:
            if not thread.is_alive() or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError("the emulator did not start")
            time.sleep(0.005)
        self.base_url = _url(self.config, sock)
        return self

    def stop(self) -> None:
        server, thread, sock = self._server, self._thread, self._socket
        self._server = self._thread = self._socket = None
        self.emulator.closing = True
        if server is not None:
            server.should_exit = True
        if thread is not None:
            thread.join(timeout=15)
        if sock is not None:
            sock.close()

    def __enter__(self) -> EmulatorServer:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()


def service_keys(emu: Emulator) -> dict[str, str]:
    """App name -> its first service key."""
    with emu.state.lock:
        return {app.name: app.api_keys[0].token for app in emu.state.apps.values() if app.api_keys}


def _mask(token: str) -> str:
    return f"{token[:8]}…{token[-4:]}" if len(token) > 12 else "****"


def banner(emu: Emulator, base_url: str) -> list[str]:
    """How to use a freshly started emulator (for stderr): login, admin key, masked demo keys."""
    from difyctl.emulator.config import DEMO_EMAIL, DEMO_PASSWORD

    config = emu.config
    lines = [f"Dify emulator ({config.server_version} wire format) listening on {base_url}; Ctrl-C to stop."]
    keys = service_keys(emu)
    if emu.state.account_by_email(DEMO_EMAIL):
        login = f"difyctl login --base-url {base_url} --email {DEMO_EMAIL}"
        lines.append(f"Log in:  DIFY_PASSWORD={DEMO_PASSWORD} {login}")
    elif emu.state.is_setup:
        lines.append(f"Log in:  difyctl login --base-url {base_url} --email YOUR_EMAIL")
    else:
        lines.append(f"No seed: create the first admin with POST {base_url}/console/api/setup.")
    if config.admin_api_key:
        lines.append(f"Admin API key enabled: DIFY_WORKSPACE_ID={emu.state.tenant_id}")
    if keys:
        lines.append("Service API keys (full keys: `difyctl keys list APP --show-secret`):")
        lines += [f"  {name:<20} {_mask(key)}" for name, key in keys.items()]
    return lines


def serve_forever(
    config: EmulatorConfig,
    on_ready: Callable[[str], None],
    on_banner: Callable[[list[str]], None] | None = None,
) -> None:
    """Run in the foreground until Ctrl-C (for ``difyctl emulator serve``).

    ``on_ready`` gets the base URL once the server listens; ``on_banner`` then gets the usage lines.
    """
    import asyncio

    emu = create_emulator(config)
    sock = _bind(config)
    server = _uvicorn_server(emu)

    async def main() -> None:
        task = asyncio.ensure_future(server.serve(sockets=[sock]))
        while not server.started and not task.done():
            await asyncio.sleep(0.01)
        if server.started:
            on_ready(_url(config, sock))
            if on_banner is not None:
                on_banner(banner(emu, _url(config, sock)))
        try:
            await task
        finally:
            emu.closing = True

    try:
        with contextlib.suppress(KeyboardInterrupt):
            asyncio.run(main())
    finally:
        sock.close()
