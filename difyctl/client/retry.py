"""Retry maths as pure functions: no clock, no sleep, no randomness of their own.

The request loop in `base.py` asks `should_retry(...)` and `delay_for(...)`; everything time- or
chance-dependent (`rng`, `now`) is passed in, so the tables in tests/client/test_retry.py pin it down.

Which requests retry:
- the request never left the machine (connect refused/timed out, no free pooled connection):
  always, whatever the operation, since the server cannot have acted on it;
- once sent, only idempotent operations (reads, and writes declared idempotent) on a read
  error/timeout, 408, 429 or any 5xx;
- non-idempotent writes (create key, import DSL, run an app, login) never retry once sent:
  Dify has no idempotency key, so a retry could create a second key or a second run.
"""

from __future__ import annotations

import email.utils
from collections.abc import Callable, Mapping
from dataclasses import dataclass

import httpx

RETRYABLE_STATUSES = frozenset({408, 429})

# httpx errors raised before a single byte of the request reached the server.
_NOT_SENT: tuple[type[Exception], ...] = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)
# httpx errors after which an idempotent request may be sent again.
_TRANSIENT: tuple[type[Exception], ...] = (
    httpx.TimeoutException,
    httpx.NetworkError,
    httpx.RemoteProtocolError,
)


@dataclass(frozen=True)
class RetryPolicy:
    max_retries: int = 2
    base_delay: float = 0.5
    max_delay: float = 8.0
    retry_after_cap: float = 60.0


DEFAULT_RETRY = RetryPolicy()
NO_RETRY = RetryPolicy(max_retries=0)


def backoff(attempt: int, rng: Callable[[], float], policy: RetryPolicy = DEFAULT_RETRY) -> float:
    """Exponential backoff with jitter: min(base * 2^attempt, max) scaled by a factor in [0.75, 1]."""
    delay = min(policy.base_delay * (2.0 ** max(attempt, 0)), policy.max_delay)
    jitter = 1.0 - 0.25 * min(max(rng(), 0.0), 1.0)
    return delay * jitter


def parse_retry_after(headers: Mapping[str, str], now: float) -> float | None:
    """Seconds to wait from `retry-after-ms`, then `retry-after` (seconds or an HTTP date)."""
    raw_ms = headers.get("retry-after-ms")
    if raw_ms is not None:
        try:
            return float(raw_ms) / 1000.0
        except ValueError:
            pass
    raw = headers.get("retry-after")
    if raw is None:
        return None
    try:
        return float(raw)
    except ValueError:
        pass
    try:
        parsed = email.utils.parsedate_tz(raw)
    except (TypeError, ValueError):  # pragma: no cover - parsedate_tz returns None on garbage
        return None
    if parsed is None:
        return None
    return email.utils.mktime_tz(parsed) - now


def was_sent(exc: BaseException) -> bool:
    """False when the transport failed before the request could reach the server."""
    return not isinstance(exc, _NOT_SENT)


def should_retry(
    *,
    idempotent: bool,
    sent: bool,
    status: int | None = None,
    exc: BaseException | None = None,
) -> bool:
    """Decide from what happened to one attempt; see the module docstring for the rules."""
    if exc is not None:
        if not isinstance(exc, httpx.TransportError):
            return False
        if not sent:
            return True
        return idempotent and isinstance(exc, _TRANSIENT)
    if status is None or not idempotent:
        return False
    return status in RETRYABLE_STATUSES or status >= 500


def delay_for(
    attempt: int,
    response: httpx.Response | None,
    policy: RetryPolicy,
    rng: Callable[[], float],
    now: float,
) -> float:
    """Retry-After when the server sent one within the cap, else jittered backoff."""
    if response is not None:
        retry_after = parse_retry_after(response.headers, now)
        if retry_after is not None and 0 < retry_after <= policy.retry_after_cap:
            return retry_after
    return backoff(attempt, rng, policy)
