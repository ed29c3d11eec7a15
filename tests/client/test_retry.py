"""The retry maths, pinned down by tables."""

from __future__ import annotations

import httpx
import pytest

from difyctl.client.retry import (
    DEFAULT_RETRY,
    RetryPolicy,
    backoff,
    delay_for,
    parse_retry_after,
    should_retry,
    was_sent,
)

NOW = 1_795_259_041.0  # Sat, 21 Nov 2026 11:04:01 GMT
REQ = httpx.Request("GET", "http://x/")


@pytest.mark.parametrize(
    ("attempt", "rng", "expected"),
    [
        (0, 0.0, 0.5),
        (1, 0.0, 1.0),
        (2, 0.0, 2.0),
        (3, 0.0, 4.0),
        (4, 0.0, 8.0),
        (5, 0.0, 8.0),  # capped at max_delay
        (10, 0.0, 8.0),
        (0, 1.0, 0.375),  # the factor never goes below 0.75
        (2, 0.5, 2.0 * 0.875),
        (4, 0.999, 8.0 * (1 - 0.25 * 0.999)),
        (-1, 0.0, 0.5),  # a negative attempt is treated as the first
        (0, 7.0, 0.375),  # a misbehaving rng is clamped to [0, 1]
        (0, -3.0, 0.5),
    ],
)
def test_backoff_table(attempt: int, rng: float, expected: float) -> None:
    assert backoff(attempt, lambda: rng, DEFAULT_RETRY) == pytest.approx(expected)


def test_backoff_follows_the_policy() -> None:
    policy = RetryPolicy(base_delay=1.0, max_delay=3.0)
    assert [backoff(n, lambda: 0.0, policy) for n in range(4)] == [1.0, 2.0, 3.0, 3.0]


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        ({}, None),
        ({"retry-after-ms": "1500"}, 1.5),
        ({"retry-after-ms": "1500", "retry-after": "9"}, 1.5),  # ms wins
        ({"retry-after-ms": "soon", "retry-after": "9"}, 9.0),  # bad ms falls through
        ({"retry-after": "3"}, 3.0),
        ({"retry-after": "0.25"}, 0.25),
        ({"retry-after": "Sat, 21 Nov 2026 11:04:31 GMT"}, 30.0),  # an HTTP date
        ({"retry-after": "Sat, 21 Nov 2026 11:03:01 GMT"}, -60.0),  # in the past
        ({"retry-after": "whenever"}, None),
        ({"retry-after": ""}, None),
    ],
)
def test_parse_retry_after_table(headers: dict[str, str], expected: float | None) -> None:
    result = parse_retry_after(httpx.Headers(headers), NOW)
    assert result == (pytest.approx(expected) if expected is not None else None)


CONNECT = httpx.ConnectError("refused", request=REQ)
CONNECT_TIMEOUT = httpx.ConnectTimeout("slow", request=REQ)
POOL = httpx.PoolTimeout("pool", request=REQ)
READ_TIMEOUT = httpx.ReadTimeout("read", request=REQ)
READ = httpx.ReadError("reset", request=REQ)
WRITE = httpx.WriteError("broken pipe", request=REQ)
PROTOCOL = httpx.RemoteProtocolError("bad frame", request=REQ)
UNSUPPORTED = httpx.UnsupportedProtocol("ftp", request=REQ)


@pytest.mark.parametrize(
    ("exc", "sent"),
    [
        (CONNECT, False),
        (CONNECT_TIMEOUT, False),
        (POOL, False),
        (READ_TIMEOUT, True),
        (READ, True),
        (WRITE, True),
        (PROTOCOL, True),
    ],
)
def test_was_sent(exc: Exception, sent: bool) -> None:
    assert was_sent(exc) is sent


@pytest.mark.parametrize(
    ("idempotent", "sent", "status", "exc", "expected"),
    [
        # never sent: always retryable, reads and writes alike
        (True, False, None, CONNECT, True),
        (False, False, None, CONNECT, True),
        (False, False, None, CONNECT_TIMEOUT, True),
        (False, False, None, POOL, True),
        # sent, then the transport failed: only idempotent operations
        (True, True, None, READ_TIMEOUT, True),
        (True, True, None, READ, True),
        (True, True, None, PROTOCOL, True),
        (False, True, None, READ_TIMEOUT, False),
        (False, True, None, READ, False),
        (False, True, None, WRITE, False),
        # errors that are not transient transport failures
        (True, True, None, UNSUPPORTED, False),
        (True, True, None, ValueError("bug"), False),
        (True, False, None, ValueError("bug"), False),
        # statuses: idempotent only
        (True, True, 408, None, True),
        (True, True, 429, None, True),
        (True, True, 500, None, True),
        (True, True, 502, None, True),
        (True, True, 503, None, True),
        (True, True, 504, None, True),
        (False, True, 429, None, False),  # create key / import DSL / run: never once sent
        (False, True, 500, None, False),
        (False, True, 502, None, False),
        (True, True, 200, None, False),
        (True, True, 400, None, False),
        (True, True, 401, None, False),
        (True, True, 404, None, False),
        (True, True, 409, None, False),
        (True, True, None, None, False),
    ],
)
def test_should_retry_table(
    idempotent: bool, sent: bool, status: int | None, exc: BaseException | None, expected: bool
) -> None:
    assert should_retry(idempotent=idempotent, sent=sent, status=status, exc=exc) is expected


def _response(headers: dict[str, str]) -> httpx.Response:
    return httpx.Response(429, headers=headers, request=REQ)


@pytest.mark.parametrize(
    ("attempt", "headers", "expected"),
    [
        (0, None, 0.5),  # no response: backoff
        (1, {}, 1.0),  # no Retry-After: backoff
        (0, {"retry-after": "3"}, 3.0),  # honoured
        (0, {"retry-after": "60"}, 60.0),  # at the cap
        (0, {"retry-after": "61"}, 0.5),  # over the cap: backoff instead
        (0, {"retry-after": "0"}, 0.5),  # zero: backoff
        (0, {"retry-after": "Sat, 21 Nov 2026 11:03:01 GMT"}, 0.5),  # a past date: backoff
        (2, {"retry-after-ms": "250"}, 0.25),
    ],
)
def test_delay_for_table(attempt: int, headers: dict[str, str] | None, expected: float) -> None:
    response = _response(headers) if headers is not None else None
    assert delay_for(attempt, response, DEFAULT_RETRY, lambda: 0.0, NOW) == pytest.approx(expected)


def test_delay_for_uses_the_policy_cap() -> None:
    policy = RetryPolicy(retry_after_cap=5.0)
    assert delay_for(0, _response({"retry-after": "6"}), policy, lambda: 0.0, NOW) == 0.5
    assert delay_for(0, _response({"retry-after": "5"}), policy, lambda: 0.0, NOW) == 5.0
