"""Masking and redaction of secrets: one place, used by output, logs and the HTTP trace."""

from __future__ import annotations

import re

_SECRET_HEADERS = frozenset({"authorization", "cookie", "set-cookie", "x-csrf-token", "x-api-key"})
# app-/ds- service keys, JWTs (session and csrf cookies), long hex refresh tokens
_TOKEN_RE = re.compile(
    r"\b(?:app|ds)-[A-Za-z0-9]{8,}\b"
    r"|\beyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{5,}\b"
    r"|\b[0-9a-f]{64,}\b"
)


def mask(token: str | None) -> str:
    """`app-****************Xy12` style: the prefix and the last 4 characters, never more."""
    if not token:
        return ""
    prefix = ""
    for p in ("app-", "ds-"):
        if token.startswith(p):
            prefix = p
            break
    rest = token[len(prefix) :]
    if len(rest) <= 8:
        return prefix + "*" * len(rest)
    return f"{prefix}{'*' * 8}{rest[-4:]}"


def redact_text(text: str, extra_secrets: tuple[str, ...] = ()) -> str:
    """Replace anything that looks like a token, and every known secret value, by a mask."""
    for secret in extra_secrets:
        if secret and len(secret) >= 4:
            text = text.replace(secret, "[REDACTED]")
    return _TOKEN_RE.sub(
        lambda m: mask(m.group(0)) if m.group(0).startswith(("app-", "ds-")) else "[REDACTED]", text
    )


def redact_headers(headers: dict[str, str]) -> dict[str, str]:
    return {k: ("[REDACTED]" if k.lower() in _SECRET_HEADERS else v) for k, v in headers.items()}
