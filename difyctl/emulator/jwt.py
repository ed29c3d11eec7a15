"""Minimal HS256 JSON Web Tokens with the standard library only (no PyJWT)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from typing import Any


class TokenError(Exception):
    """A token that cannot be trusted. ``reason`` is "expired", "signature" or "invalid"."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def _b64encode(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _b64decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _compact(obj: Any) -> bytes:
    return json.dumps(obj, separators=(",", ":")).encode("utf-8")


def encode(payload: dict[str, Any], secret: bytes) -> str:
    signing_input = _b64encode(_compact({"alg": "HS256", "typ": "JWT"})) + "." + _b64encode(_compact(payload))
    signature = hmac.new(secret, signing_input.encode("ascii"), hashlib.sha256).digest()
    return signing_input + "." + _b64encode(signature)


def decode(token: str, secret: bytes, now: float) -> dict[str, Any]:
    """Verify signature and expiry; return the payload."""
    parts = token.split(".")
    if len(parts) != 3:
        raise TokenError("invalid")
    try:
        header = json.loads(_b64decode(parts[0]))
        payload = json.loads(_b64decode(parts[1]))
        signature = _b64decode(parts[2])
    except (ValueError, UnicodeDecodeError) as exc:
        raise TokenError("invalid") from exc
    if not isinstance(header, dict) or header.get("alg") != "HS256" or not isinstance(payload, dict):
        raise TokenError("invalid")
    expected = hmac.new(secret, f"{parts[0]}.{parts[1]}".encode("ascii"), hashlib.sha256).digest()
    if not hmac.compare_digest(expected, signature):
        raise TokenError("signature")
    exp = payload.get("exp")
    if isinstance(exp, int | float) and exp <= now:
        raise TokenError("expired")
    return payload
