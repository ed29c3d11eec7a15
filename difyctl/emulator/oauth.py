"""The device-flow grants and ``dfoa_`` bearer tokens of Dify's /openapi/v1 (>= 1.15), in memory.

Recorded on Dify 1.16.0 (fixtures 049-053, 068): a device code lives 900 s and is polled every 5 s; an
approved grant is exchanged once for a ``dfoa_`` token valid 14 days. Importable without starlette.
"""

from __future__ import annotations

import secrets
import string
import threading
import uuid
from dataclasses import dataclass, field

CLIENT_ID = "difyctl"  # the only client a 1.16.0 server accepts (048: anything else is unsupported_client)
DEVICE_CODE_TTL = 900
POLL_INTERVAL = 5
TOKEN_TTL = 14 * 24 * 3600
_USER_CODE_ALPHABET = string.ascii_uppercase.replace("O", "").replace("I", "") + "23456789"


@dataclass
class DeviceGrant:
    device_code: str
    user_code: str
    client_id: str
    device_label: str
    expires_at: float
    account_id: str | None = None  # set on approval


@dataclass
class OAuthToken:
    token: str
    token_id: str
    account_id: str
    client_id: str
    device_label: str
    created_at: float
    expires_at: float
    last_used_at: float | None = None


@dataclass
class OAuthStore:
    grants: dict[str, DeviceGrant] = field(default_factory=dict)
    tokens: dict[str, OAuthToken] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def start(self, client_id: str, label: str, now: float) -> DeviceGrant:
        code = "".join(secrets.choice(_USER_CODE_ALPHABET) for _ in range(8))
        grant = DeviceGrant(
            device_code="dc_" + secrets.token_urlsafe(24),
            user_code=f"{code[:4]}-{code[4:]}",
            client_id=client_id,
            device_label=label,
            expires_at=now + DEVICE_CODE_TTL,
        )
        with self.lock:
            self.grants[grant.device_code] = grant
        return grant

    def by_user_code(self, user_code: str, now: float) -> DeviceGrant | None:
        with self.lock:
            for grant in self.grants.values():
                if grant.user_code == user_code and grant.expires_at > now:
                    return grant
        return None

    def exchange(self, device_code: str, now: float) -> OAuthToken | str:
        """The token of an approved grant (once), else the RFC 8628 section 3.5 error code."""
        with self.lock:
            grant = self.grants.get(device_code)
            if grant is None or grant.expires_at <= now:
                self.grants.pop(device_code, None)
                return "expired_token"
            if grant.account_id is None:
                return "authorization_pending"
            del self.grants[device_code]
            token = OAuthToken(
                token="dfoa_" + secrets.token_urlsafe(32),
                token_id=str(uuid.uuid4()),
                account_id=grant.account_id,
                client_id=grant.client_id,
                device_label=grant.device_label,
                created_at=now,
                expires_at=now + TOKEN_TTL,
            )
            self.tokens[token.token] = token
            return token

    def lookup(self, token: str, now: float) -> OAuthToken | None:
        with self.lock:
            found = self.tokens.get(token)
            if found is None or found.expires_at <= now:
                return None
            return found

    def of_account(self, account_id: str) -> list[OAuthToken]:
        with self.lock:
            return sorted(
                (t for t in self.tokens.values() if t.account_id == account_id), key=lambda t: t.created_at
            )
