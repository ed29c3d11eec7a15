"""The one typed Dify client: console (`ConsoleClient`), service API (`ServiceClient`), auth and login.

Imported only by the commands that talk to a server; the submodules are small and import httpx only.
"""

from __future__ import annotations

from difyctl.client.auth import (
    AdminKeyAuth,
    AppKeyAuth,
    ConsoleSession,
    ConsoleTokenAuth,
    LegacyBearerAuth,
    LoginResult,
    SessionAuth,
    login,
    logout,
    session_auth,
)
from difyctl.client.console import AsyncConsoleClient, ConsoleClient, probe_server
from difyctl.client.errors import (
    AuthenticationError,
    BadRequestError,
    ConflictError,
    DifyConnectionError,
    DifyError,
    DifyProtocolError,
    DifyStatusError,
    DifyStreamError,
    DifyTimeoutError,
    NotFoundError,
    PermissionDeniedError,
    RateLimitError,
    RunFailedError,
    ServerError,
    SessionExpiredError,
    StreamTruncatedError,
    UnsupportedMediaError,
    UpgradeRequiredError,
    make_status_error,
)
from difyctl.client.retry import RetryPolicy
from difyctl.client.service import AsyncServiceClient, ServiceClient
from difyctl.client.transport import ClientOptions, Runtime

__all__ = [
    "AdminKeyAuth",
    "AppKeyAuth",
    "AsyncConsoleClient",
    "AsyncServiceClient",
    "AuthenticationError",
    "BadRequestError",
    "ClientOptions",
    "ConflictError",
    "ConsoleClient",
    "ConsoleSession",
    "ConsoleTokenAuth",
    "DifyConnectionError",
    "DifyError",
    "DifyProtocolError",
    "DifyStatusError",
    "DifyStreamError",
    "DifyTimeoutError",
    "LegacyBearerAuth",
    "LoginResult",
    "NotFoundError",
    "PermissionDeniedError",
    "RateLimitError",
    "UpgradeRequiredError",
    "RetryPolicy",
    "RunFailedError",
    "Runtime",
    "ServerError",
    "ServiceClient",
    "SessionAuth",
    "SessionExpiredError",
    "StreamTruncatedError",
    "UnsupportedMediaError",
    "login",
    "logout",
    "make_status_error",
    "probe_server",
    "session_auth",
]
