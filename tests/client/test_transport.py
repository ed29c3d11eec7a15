"""Client construction, transport error wrapping, and the redacting `difyctl.http` trace."""

from __future__ import annotations

import logging
import re
import ssl
import sys
from pathlib import Path

import httpx
import pytest

from difyctl import __version__
from difyctl.client import errors as e
from difyctl.client.auth import AdminKeyAuth, ConsoleSession, ConsoleTokenAuth, SessionAuth, login
from difyctl.client.transport import ClientOptions, Runtime, build_client, wrap_transport_error

from .conftest import BASE, BOTH, FakeRuntime, close, console, options, recorded, resolve, service

URL = "https://dify.example.com:8443/console/api/apps?_token=SECRET"
REQ = httpx.Request("GET", URL)


@pytest.mark.parametrize(
    ("exc", "cls", "message"),
    [
        (
            httpx.ConnectError("[Errno 111] Connection refused"),
            e.DifyConnectionError,
            "cannot connect to https://dify.example.com:8443: connection refused",
        ),
        (
            httpx.ConnectError("[Errno -2] Name or service not known"),
            e.DifyConnectionError,
            "cannot connect to https://dify.example.com:8443: unknown host",
        ),
        (
            httpx.ConnectError("[SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed"),
            e.DifyConnectionError,
            "cannot connect to https://dify.example.com:8443: TLS certificate verification failed",
        ),
        (
            httpx.ConnectError(""),
            e.DifyConnectionError,
            "cannot connect to https://dify.example.com:8443: ConnectError",
        ),
        (
            httpx.ConnectTimeout("x"),
            e.DifyTimeoutError,
            "timed out connecting to https://dify.example.com:8443",
        ),
        (
            httpx.PoolTimeout("x"),
            e.DifyTimeoutError,
            "timed out waiting for a free connection to https://dify.example.com:8443",
        ),
        (
            httpx.ReadTimeout("x"),
            e.DifyTimeoutError,
            "no answer from https://dify.example.com:8443/console/api/apps before the read timeout",
        ),
        (
            httpx.WriteTimeout("x"),
            e.DifyTimeoutError,
            "timed out talking to https://dify.example.com:8443/console/api/apps",
        ),
        (
            httpx.ReadError("[Errno 104] Connection reset by peer"),
            e.DifyConnectionError,
            "connection to https://dify.example.com:8443 failed: connection reset by the server",
        ),
        (
            httpx.RemoteProtocolError("peer closed connection"),
            e.DifyConnectionError,
            "connection to https://dify.example.com:8443 failed: peer closed connection",
        ),
    ],
)
def test_wrap_transport_error(exc: httpx.TransportError, cls: type, message: str) -> None:
    err = wrap_transport_error(exc, REQ)
    assert type(err) is cls
    assert err.message == message
    assert "SECRET" not in err.message and "SECRET" not in err.url
    assert err.exit_code == 5
    # every failure has a hint, naming an option every command that talks to a server has (a server
    # that closed the connection at once, a connect or write timeout had none)
    assert err.hint and re.search(r"--(timeout|verbose)\b|check the base URL", err.hint), err.hint


@pytest.mark.parametrize(
    ("exc", "message"),
    [
        (httpx.ConnectError("refused"), "cannot connect to https://dify.example.com:8443 after 3 attempts:"),
        (
            httpx.ReadError("reset by peer"),
            "connection to https://dify.example.com:8443 failed after 3 attempts:",
        ),
        (
            httpx.RemoteProtocolError("closed"),
            "connection to https://dify.example.com:8443 failed after 3 attempts:",
        ),
    ],
)
def test_a_retried_connection_failure_says_how_many_times(exc: httpx.TransportError, message: str) -> None:
    """As a retried read timeout does ('in 60 s, 3 times'): 'apps list' against a server that closes
    the connection at once tried 3 times and said 'connection ... failed: connection reset'."""
    assert wrap_transport_error(exc, REQ, attempts=3).message.startswith(message)
    assert "attempts" not in wrap_transport_error(exc, REQ, attempts=1).message


def test_wrap_uses_the_request_of_the_exception_or_none() -> None:
    exc = httpx.ConnectError("refused", request=httpx.Request("GET", "http://127.0.0.1/x"))
    assert wrap_transport_error(exc).message == "cannot connect to http://127.0.0.1: connection refused"
    bare = wrap_transport_error(httpx.ConnectError("refused"))
    assert bare.message == "cannot connect to the server: connection refused"


def test_read_timeout_hint_mentions_silent_streams() -> None:
    run = httpx.Request("POST", "https://dify.example.com/v1/chat-messages")
    err = wrap_transport_error(httpx.ReadTimeout("x"), run)
    assert err.hint is not None and "missing required input" in err.hint


def test_options_defaults() -> None:
    opts = ClientOptions()
    assert opts.timeout.connect == 5.0 and opts.timeout.read == 60.0
    assert opts.user_agent == f"difyctl-ops/{__version__}"
    assert opts.limits.max_connections == 100
    assert ClientOptions(max_connections=7).limits.max_connections == 7


def test_the_cookie_jar_stores_nothing(fake: FakeRuntime) -> None:
    seen: list[str | None] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request.headers.get("cookie"))
        return recorded("009", request=request)  # a login answer full of Set-Cookie

    client = build_client(BASE, options(handler), fake.runtime())
    client.get("/console/api/login")
    client.get("/console/api/apps")
    assert seen == [None, None]
    assert len(client.cookies.jar) == 0
    client.close()


# ---- the trace: useful, and never a secret in it ------------------------------------------------

CANARY_ACCESS = "eyJhbGciOiJIUzI1NiJ9.eyJjYW5hcnkiOiJhY2Nlc3MifQ.Q0FOQVJZLUFDQ0VTUy1TSUc"
CANARY_CSRF = "eyJhbGciOiJIUzI1NiJ9.eyJjYW5hcnkiOiJjc3JmIn0.Q0FOQVJZLUNTUkYtU0lH"
CANARY_REFRESH = "canary-refresh-0123456789abcdef"
CANARY_KEY = "app-CANARYcanaryCANARY1234"
CANARY_ADMIN = "admin-key-CANARY-42"
CANARY_PASSWORD = "CanaryPassw0rd!"
CANARIES = (CANARY_ACCESS, CANARY_CSRF, CANARY_REFRESH, CANARY_KEY, CANARY_ADMIN, CANARY_PASSWORD, "CANARY")


def _log_text(caplog: pytest.LogCaptureFixture) -> str:
    return "\n".join(r.getMessage() for r in caplog.records if r.name == "difyctl.http")


@BOTH
async def test_trace_logs_method_path_status_timing(
    is_async: bool, fake: FakeRuntime, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="difyctl.http")

    def handler(request: httpx.Request) -> httpx.Response:
        fake.t += 0.0123
        return recorded("045", request=request)

    client = console(handler, None, is_async, fake)
    await resolve(client.list_apps(limit=30))
    await close(client)
    text = _log_text(caplog)
    assert "-> GET /console/api/apps headers=" in text
    assert "<- GET /console/api/apps 200 (12.3 ms) x-version=1.13.2" in text
    assert "limit=30" not in text  # the query is never logged


@BOTH
async def test_no_secret_reaches_the_trace(
    is_async: bool, fake: FakeRuntime, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="difyctl.http")
    session = ConsoleSession(CANARY_ACCESS, CANARY_REFRESH, CANARY_CSRF)
    calls = {"n": 0}

    def handler(request: httpx.Request) -> httpx.Response:
        calls["n"] += 1
        if request.url.path.endswith("refresh-token"):
            return httpx.Response(
                200,
                json={"result": "success"},
                headers=[
                    ("set-cookie", f"access_token={CANARY_ACCESS}x; Path=/; HttpOnly"),
                    ("set-cookie", f"csrf_token={CANARY_CSRF}x; Path=/"),
                    ("set-cookie", f"refresh_token={CANARY_REFRESH}x; Path=/; HttpOnly"),
                ],
            )
        if calls["n"] == 1:
            return httpx.Response(401, json={"code": "unauthorized", "message": "expired", "status": 401})
        return httpx.Response(500, json={"message": f"echo {CANARY_KEY}"})

    for auth in (
        SessionAuth(session),
        ConsoleTokenAuth(f"access_token={CANARY_ACCESS}; csrf_token={CANARY_CSRF}"),
        AdminKeyAuth(CANARY_ADMIN, "ws-1"),
    ):
        client = console(handler, auth, is_async, fake)
        with pytest.raises(e.DifyError):
            await resolve(client.get_app(f"app?token={CANARY_KEY}"))
        await close(client)
    svc = service(lambda r: httpx.Response(401, json={"message": "bad"}), is_async, fake, key=CANARY_KEY)
    with pytest.raises(e.AuthenticationError):
        await resolve(svc.info())
    await close(svc)

    text = _log_text(caplog)
    assert "[REDACTED]" in text and "refresh-token" in text
    for canary in CANARIES:
        assert canary not in text


def test_password_never_logged(fake: FakeRuntime, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)

    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/console/api/login":
            return httpx.Response(
                401, json={"code": "authentication_failed", "message": "Invalid email or password."}
            )
        return httpx.Response(200, json={"status": "ok", "version": "1.13.2"})

    with pytest.raises(e.AuthenticationError):
        login(BASE, "admin@example.com", CANARY_PASSWORD, options=options(handler), runtime=fake.runtime())
    import base64

    encoded = base64.b64encode(CANARY_PASSWORD.encode()).decode()
    for record in caplog.records:
        assert CANARY_PASSWORD not in record.getMessage() and encoded not in record.getMessage()


def test_runtime_defaults_are_real() -> None:
    import random
    import time

    runtime = Runtime()
    assert runtime.clock is time.monotonic and runtime.now is time.time and runtime.rng is random.random


class TestSharedSslContext:
    """One context per process and setting; the CA bundle loads at the first TLS handshake only."""

    @pytest.fixture(autouse=True)
    def _fresh(self, monkeypatch: pytest.MonkeyPatch) -> None:
        from difyctl.client import transport

        monkeypatch.setattr(transport, "_CONTEXTS", {})
        monkeypatch.delenv("SSL_CERT_FILE", raising=False)
        monkeypatch.delenv("SSL_CERT_DIR", raising=False)

    @staticmethod
    def _handshake_starts(ctx: ssl.SSLContext) -> None:
        ctx.wrap_bio(ssl.MemoryBIO(), ssl.MemoryBIO(), server_hostname="dify.example.com")

    def test_shared_and_loaded_only_when_a_handshake_needs_it(self) -> None:
        from difyctl.client.transport import ssl_context_for

        ctx = ssl_context_for(True, True)
        assert ssl_context_for(True, True) is ctx and ssl_context_for(True, False) is not ctx
        assert ctx.verify_mode == ssl.CERT_REQUIRED and ctx.check_hostname
        assert ctx.cert_store_stats()["x509_ca"] == 0  # an http:// command never pays for the bundle
        self._handshake_starts(ctx)
        loaded = ctx.cert_store_stats()["x509_ca"]
        assert loaded > 1  # certifi's bundle
        self._handshake_starts(ctx)
        assert ctx.cert_store_stats()["x509_ca"] == loaded  # once

    def test_ssl_cert_file_is_honoured_like_httpx(
        self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        import certifi

        from difyctl.client.transport import ssl_context_for

        bundle = Path(certifi.where()).read_text()
        end = "-----END CERTIFICATE-----"
        one = tmp_path / "one.pem"
        one.write_text(bundle[bundle.index("-----BEGIN CERTIFICATE-----") : bundle.index(end) + len(end)])
        monkeypatch.setenv("SSL_CERT_FILE", str(one))
        ctx = ssl_context_for(True, True)
        self._handshake_starts(ctx)
        assert ctx.cert_store_stats()["x509_ca"] == 1
        untrusting = ssl_context_for(True, False)  # trust_env off: the variable is ignored
        self._handshake_starts(untrusting)
        assert untrusting.cert_store_stats()["x509_ca"] > 1

    def test_verify_off_and_the_clients_use_the_shared_context(self) -> None:
        from difyctl.client.transport import ssl_context_for

        assert ssl_context_for(False, True).verify_mode == ssl.CERT_NONE
        with build_client("https://dify.example.com", ClientOptions(), Runtime()) as one:
            with build_client("https://dify.example.com", ClientOptions(), Runtime()) as two:
                pool_one = one._transport._pool  # type: ignore[attr-defined]
                pool_two = two._transport._pool  # type: ignore[attr-defined]
                assert pool_one._ssl_context is pool_two._ssl_context is ssl_context_for(True, True)


def test_httpx_command_line_client_is_never_imported() -> None:
    """difyctl refuses httpx/_main.py (click, rich.syntax, pygments: ~60 ms and 6 MB per process).
    In a child: pytest's plugins import httpx before difyctl in this process."""
    import subprocess

    probe = (
        "import difyctl, httpx, sys; "
        "print(callable(httpx.main), "
        "sorted(m for m in sys.modules if m.startswith(('httpx._main', 'pygments'))))"
    )
    argv = [sys.executable, "-c", probe]
    done = subprocess.run(argv, capture_output=True, text=True, check=True, timeout=60)
    assert done.stdout.split() == ["True", "[]"]


@pytest.mark.parametrize("path", ["/console/api/login", "/console/api/apps", "/v1/info", "/health"])
def test_read_timeout_hint_speaks_of_runs_only_for_a_run(path: str) -> None:
    """login, apps list, health...: a hint about a streaming run's missing input only misleads there."""
    err = wrap_transport_error(httpx.ReadTimeout("x"), httpx.Request("GET", f"http://127.0.0.1{path}"))
    assert err.hint is not None and "--timeout" in err.hint and "input" not in err.hint


@pytest.mark.parametrize(
    ("exc", "message"),
    [
        (httpx.ConnectTimeout("t"), "timed out connecting to https://dify.example.com:8443 after 3 attempts"),
        (
            httpx.PoolTimeout("t"),
            "timed out waiting for a free connection to https://dify.example.com:8443 after 3 attempts",
        ),
        (
            httpx.WriteTimeout("t"),
            "timed out talking to https://dify.example.com:8443/console/api/apps after 3 attempts",
        ),
    ],
)
def test_a_retried_timeout_says_how_many_times(exc: httpx.TransportError, message: str) -> None:
    """A connect timeout is retried (the request never left: retry.py), so `status` against a host that
    drops SYNs waited 3 connect timeouts and their backoff, and said 'timed out connecting' as if once."""
    assert wrap_transport_error(exc, REQ, attempts=3).message == message
    assert "attempts" not in wrap_transport_error(exc, REQ, attempts=1).message
