"""Completion notices (`--notify URL`): a signed JSON POST, and its verification (`webhook verify`).

Signature scheme (Stripe/Slack style, so a receiver can refuse replays):
    X-Difyctl-Timestamp: <unix seconds>
    X-Difyctl-Signature: sha256=<hex HMAC-SHA256(secret, f"{timestamp}." + raw body)>
The receiver recomputes the HMAC over the exact bytes it received, compares in constant time, and
refuses a timestamp older (or newer) than the tolerance (300 s by default). The secret comes from an
environment variable only; it is never printed, logged or put into the notice.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from difyctl.errors import UsageError

if TYPE_CHECKING:
    from difyctl.client.transport import ClientOptions

SIGNATURE_HEADER = "X-Difyctl-Signature"
TIMESTAMP_HEADER = "X-Difyctl-Timestamp"
DEFAULT_TOLERANCE = 300
NOTIFY_TIMEOUT = 10.0


def signed_payload(body: bytes, timestamp: int | str) -> bytes:
    return f"{timestamp}.".encode("ascii") + body


def sign(secret: str | bytes, body: bytes, timestamp: int) -> str:
    key = secret.encode("utf-8") if isinstance(secret, str) else secret
    digest = hmac.new(key, signed_payload(body, timestamp), hashlib.sha256).hexdigest()
    return f"sha256={digest}"


@dataclass(frozen=True)
class Verdict:
    ok: bool
    reason: str


def verify(
    secret: str | bytes,
    body: bytes,
    signature: str | None,
    timestamp: str | None,
    *,
    now: float,
    tolerance: float = DEFAULT_TOLERANCE,
) -> Verdict:
    """Check the signature of `body`; the reason says why not (never echoes the secret)."""
    if not signature or not timestamp:
        return Verdict(False, f"missing {SIGNATURE_HEADER if not signature else TIMESTAMP_HEADER} header")
    try:
        ts = int(timestamp.strip())
    except ValueError:
        return Verdict(False, "the timestamp is not an integer (unix seconds)")
    if abs(now - ts) > tolerance:
        skew = abs(now - ts)
        return Verdict(False, f"the timestamp is {skew:.0f} s away from now (tolerance {tolerance:g} s)")
    expected = sign(secret, body, ts)
    given = signature.strip()
    candidates = [part.strip() for part in given.split(",")]  # several signatures while rotating secrets
    if any(hmac.compare_digest(expected, c) for c in candidates if c.startswith("sha256=")):
        return Verdict(True, "signature valid")
    return Verdict(False, "signature mismatch")


def read_secret(env: Mapping[str, str], var: str | None) -> str | None:
    """The signing secret from an environment variable (checked before anything is sent)."""
    if var is None:
        return None
    value = env.get(var)
    if not value:
        raise UsageError(f"environment variable {var} is not set (--notify-secret-env / --secret-env)")
    return value


def notice_headers(body: bytes, secret: str | None, timestamp: int) -> dict[str, str]:
    headers = {"Content-Type": "application/json", TIMESTAMP_HEADER: str(timestamp)}
    if secret:
        headers[SIGNATURE_HEADER] = sign(secret, body, timestamp)
    return headers


def post_notice(
    url: str,
    notice: Mapping[str, Any],
    *,
    secret: str | None,
    now: float,
    options: ClientOptions | None = None,
) -> int:
    """POST the notice; returns the HTTP status. Raises DifyConnectionError when unreachable."""
    import httpx

    from difyctl.client.transport import wrap_transport_error

    body = json.dumps(notice, ensure_ascii=False, sort_keys=True, default=str).encode("utf-8")
    headers = notice_headers(body, secret, int(now))
    transport = options.transport if options is not None else None
    with httpx.Client(timeout=NOTIFY_TIMEOUT, transport=transport, follow_redirects=False) as client:
        try:
            response = client.post(url, content=body, headers=headers)
        except httpx.TransportError as exc:
            raise wrap_transport_error(exc) from exc
    return response.status_code


def parse_headers_file(text: str) -> dict[str, str]:
    """Headers as a JSON object, or `Name: value` lines (curl -D, an HTTP dump); names lower-cased."""
    stripped = text.strip()
    if stripped.startswith("{"):
        try:
            loaded = json.loads(stripped)
        except ValueError as exc:
            raise UsageError(f"the headers file is not valid JSON: {exc}") from exc
        if not isinstance(loaded, dict):
            raise UsageError("the headers file must hold a JSON object of header: value")
        return {str(k).lower(): str(v) for k, v in loaded.items()}
    headers: dict[str, str] = {}
    for line in text.splitlines():
        if ":" not in line or line.startswith(("HTTP/", "POST ", "GET ")):
            continue
        name, value = line.split(":", 1)
        headers[name.strip().lower()] = value.strip()
    return headers


def _origin(url: str) -> str:
    """scheme://host[:port] only: webhook URLs often carry a secret in their path (Slack, Teams)."""
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.hostname or '?'}" + (f":{parts.port}" if parts.port else "")


def check_url(url: str | None) -> None:
    if url is not None and not url.startswith(("http://", "https://")):
        raise UsageError("--notify needs an http:// or https:// URL")


def deliver(
    out: Any,
    url: str,
    notice: Mapping[str, Any],
    *,
    secret: str | None,
    now: float,
    options: ClientOptions | None = None,
) -> bool:
    """Post the notice and say so on stderr; a failed notice is a warning, never a new exit code."""
    from difyctl.client.errors import DifyError

    where = _origin(url)
    try:
        status = post_notice(url, notice, secret=secret, now=now, options=options)
    except DifyError as exc:
        out.warn(f"completion notice to {where} failed: {exc.message}")
        return False
    if status >= 300:
        out.warn(f"completion notice to {where} answered HTTP {status}")
        return False
    out.info(f"completion notice sent to {where}{' (signed)' if secret else ''}")
    return True
