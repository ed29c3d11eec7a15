"""Console sessions: JWT access + CSRF tokens, opaque refresh tokens, cookies, the login_required check."""

from __future__ import annotations

import base64
import binascii
import secrets
import threading
from dataclasses import dataclass
from datetime import datetime, timezone
from email.utils import format_datetime
from typing import TYPE_CHECKING

from difyctl.emulator import jwt
from difyctl.emulator.errors import CSRF_MESSAGE, ApiError, unauthorized
from difyctl.emulator.models import Account

if TYPE_CHECKING:
    from starlette.requests import Request

    from difyctl.emulator.runtime import Emulator

ACCESS = "access_token"
REFRESH = "refresh_token"
CSRF = "csrf_token"
EPOCH = "Thu, 01 Jan 1970 00:00:00 GMT"
CSRF_EXEMPT_SUFFIX = "/workflows/draft"


@dataclass
class Session:
    account_id: str
    access_token: str
    refresh_token: str
    refresh_expires_at: float


@dataclass
class TokenPair:
    access_token: str
    refresh_token: str
    csrf_token: str


class SessionStore:
    """Refresh tokens and revoked access tokens (in memory: the JWT secret dies with the server)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._by_refresh: dict[str, Session] = {}
        self._revoked: set[str] = set()
        self._issued: set[str] = set()

    def claim(self, access_token: str) -> bool:
        """Reserve a fresh access token string; False when another session already has it."""
        with self._lock:
            if access_token in self._issued:
                return False
            self._issued.add(access_token)
            return True

    def add(self, session: Session) -> None:
        with self._lock:
            self._by_refresh[session.refresh_token] = session

    def pop_refresh(self, token: str, now: float) -> Session | None:
        with self._lock:
            session = self._by_refresh.pop(token, None)
        if session is None or session.refresh_expires_at <= now:
            return None
        return session

    def revoke(self, access_token: str | None, refresh_token: str | None) -> None:
        with self._lock:
            if access_token:
                self._revoked.add(access_token)
            if refresh_token:
                self._by_refresh.pop(refresh_token, None)

    def is_revoked(self, access_token: str) -> bool:
        with self._lock:
            return access_token in self._revoked


def decode_password(encoded: str) -> str | None:
    """Dify >= 1.11.2 'FieldEncryption': plain base64. None when it is not base64 of UTF-8."""
    try:
        return base64.b64decode(encoded, validate=True).decode("utf-8")
    except (binascii.Error, ValueError, UnicodeDecodeError):
        return None


def issue_tokens(emu: Emulator, account: Account) -> TokenPair:
    now = emu.clock()
    exp = int(now + emu.config.access_token_ttl)
    while True:
        # Dify's payload has no session id: two logins in one second would share a token, and logging
        # one out would end both. Nudge ``exp`` by a second instead of adding a claim Dify does not send.
        claims = {"user_id": account.id, "exp": exp, "iss": "SELF_HOSTED", "sub": "Console API Passport"}
        access = jwt.encode(claims, emu.secret)
        if emu.sessions.claim(access):
            break
        exp += 1
    csrf = jwt.encode({"exp": exp, "sub": account.id}, emu.secret)
    refresh = secrets.token_hex(64)
    emu.sessions.add(Session(account.id, access, refresh, now + emu.config.refresh_token_ttl))
    return TokenPair(access, refresh, csrf)


def _cookie(emu: Emulator, name: str, value: str, max_age: int | None, http_only: bool) -> str:
    parts = [f"{emu.config.cookie_prefix}{name}={value}"]
    if max_age is None:
        parts.append(f"Expires={EPOCH}")
    else:
        expires = datetime.fromtimestamp(int(emu.clock()) + max_age, tz=timezone.utc)
        parts.append(f"Expires={format_datetime(expires, usegmt=True)}")
        parts.append(f"Max-Age={max_age}")
    if emu.config.cookie_secure:
        parts.append("Secure")
    if http_only:
        parts.append("HttpOnly")
    parts += ["Path=/", "SameSite=Lax"]
    return "; ".join(parts)


def session_cookies(emu: Emulator, tokens: TokenPair, *, order: tuple[str, ...]) -> list[str]:
    ttl = emu.config.access_token_ttl
    values = {
        ACCESS: _cookie(emu, ACCESS, tokens.access_token, ttl, True),
        REFRESH: _cookie(emu, REFRESH, tokens.refresh_token, emu.config.refresh_token_ttl, True),
        CSRF: _cookie(emu, CSRF, tokens.csrf_token, ttl, False),
    }
    return [values[name] for name in order]


def clearing_cookies(emu: Emulator) -> list[str]:
    return [
        _cookie(emu, ACCESS, "", None, True),
        _cookie(emu, REFRESH, "", None, True),
        _cookie(emu, CSRF, "", None, False),
    ]


def cookie(emu: Emulator, request: Request, name: str) -> str | None:
    return request.cookies.get(emu.config.cookie_prefix + name) or None


def bearer(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    if header[:7].lower() == "bearer ":
        return header[7:].strip() or None
    return None


def _token_error(exc: jwt.TokenError) -> ApiError:
    messages = {"expired": "Token has expired.", "signature": "Invalid token signature."}
    return unauthorized(messages.get(exc.reason, "Invalid token."))


def _admin_account(emu: Emulator, request: Request) -> Account | None:
    key = emu.config.admin_api_key
    workspace = request.headers.get("x-workspace-id")
    if not key or not workspace or bearer(request) != key:
        return None
    if workspace != emu.state.tenant_id:
        return None
    return emu.state.owner()


def access_token_of(emu: Emulator, request: Request) -> str | None:
    if emu.config.legacy_auth:
        return bearer(request)
    return cookie(emu, request, ACCESS) or bearer(request)


def authenticate(emu: Emulator, request: Request) -> Account:
    """Dify's ``login_required``: the admin API key, else the access token plus (>= 1.9) the CSRF pair."""
    admin = _admin_account(emu, request)
    if admin is not None:
        return admin
    token = access_token_of(emu, request)
    if not token:
        raise unauthorized("Invalid Authorization token.")
    try:
        payload = jwt.decode(token, emu.secret, emu.clock())
    except jwt.TokenError as exc:
        raise _token_error(exc) from exc
    if emu.sessions.is_revoked(token):
        raise unauthorized("Invalid Authorization token.")
    with emu.state.lock:
        account = emu.state.accounts.get(str(payload.get("user_id")))
    if account is None:
        raise unauthorized("Invalid Authorization token.")
    if not emu.config.legacy_auth and not request.url.path.endswith(CSRF_EXEMPT_SUFFIX):
        check_csrf(emu, request, account)
    return account


def check_csrf(emu: Emulator, request: Request, account: Account) -> None:
    header = request.headers.get("x-csrf-token", "")
    value = cookie(emu, request, CSRF)
    if not header or not value or not secrets.compare_digest(header, value):
        raise unauthorized(CSRF_MESSAGE)
    try:
        payload = jwt.decode(value, emu.secret, emu.clock())
    except jwt.TokenError as exc:
        raise unauthorized(CSRF_MESSAGE) from exc
    if payload.get("sub") != account.id:
        raise unauthorized(CSRF_MESSAGE)
