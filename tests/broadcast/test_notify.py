"""Signed completion notices: sign/verify, replays, header files, delivery."""

from __future__ import annotations

import json

import httpx
import pytest

from difyctl.client.transport import ClientOptions
from difyctl.errors import UsageError
from difyctl.notify import (
    SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
    deliver,
    parse_headers_file,
    post_notice,
    read_secret,
    sign,
    verify,
)
from difyctl.output import Output

SECRET = "whsec-test-secret-value"
BODY = b'{"event":"broadcast.completed","ok":true}'
NOW = 1_800_000_000


def test_sign_covers_timestamp_and_body() -> None:
    signature = sign(SECRET, BODY, NOW)
    assert signature.startswith("sha256=") and len(signature) == 7 + 64
    assert signature != sign(SECRET, BODY, NOW + 1) and signature != sign(SECRET, BODY + b" ", NOW)
    assert SECRET not in signature


@pytest.mark.parametrize(
    ("body", "signature", "timestamp", "now", "ok", "reason"),
    [
        (BODY, None, str(NOW), NOW, True, "signature valid"),
        (BODY + b"x", None, str(NOW), NOW, False, "mismatch"),
        (BODY, None, str(NOW), NOW + 301, False, "tolerance"),
        (BODY, None, str(NOW), NOW - 301, False, "tolerance"),
        (BODY, None, "soon", NOW, False, "not an integer"),
        (BODY, "", str(NOW), NOW, False, "missing X-Difyctl-Signature"),
        (BODY, None, None, NOW, False, "missing X-Difyctl-Timestamp"),
        (BODY, "sha256=" + "0" * 64, str(NOW), NOW, False, "mismatch"),
    ],
)
def test_verify(
    body: bytes, signature: str | None, timestamp: str | None, now: int, ok: bool, reason: str
) -> None:
    if signature is None:
        signature = sign(SECRET, BODY, NOW)
    verdict = verify(SECRET, body, signature, timestamp, now=now)
    assert verdict.ok is ok and reason in verdict.reason


def test_a_replayed_signature_with_a_new_timestamp_fails() -> None:
    old = sign(SECRET, BODY, NOW - 3600)
    assert not verify(SECRET, BODY, old, str(NOW), now=NOW).ok


def test_several_signatures_while_rotating_secrets() -> None:
    both = f"{sign('old-secret', BODY, NOW)}, {sign(SECRET, BODY, NOW)}"
    assert verify(SECRET, BODY, both, str(NOW), now=NOW).ok


def test_header_files() -> None:
    dump = f"HTTP/1.1 200 OK\r\n{SIGNATURE_HEADER}: sha256=ab\r\n{TIMESTAMP_HEADER}: 12\r\n"
    assert parse_headers_file(dump) == {"x-difyctl-signature": "sha256=ab", "x-difyctl-timestamp": "12"}
    assert parse_headers_file('{"X-Difyctl-Timestamp": 12}') == {"x-difyctl-timestamp": "12"}
    with pytest.raises(UsageError):
        parse_headers_file("{not json")
    with pytest.raises(UsageError):
        parse_headers_file('{"a": 1')


def test_read_secret() -> None:
    assert read_secret({"S": "v"}, "S") == "v" and read_secret({}, None) is None
    with pytest.raises(UsageError, match="HOOK is not set"):
        read_secret({}, "HOOK")


def test_post_notice_signs_what_it_sends() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(204)

    status = post_notice(
        "https://hooks.example/x",
        {"ok": True},
        secret=SECRET,
        now=NOW,
        options=ClientOptions(transport=httpx.MockTransport(handler)),
    )
    (request,) = seen
    assert status == 204 and json.loads(request.content) == {"ok": True}
    assert request.headers["content-type"] == "application/json"
    assert verify(
        SECRET, request.content, request.headers[SIGNATURE_HEADER], request.headers[TIMESTAMP_HEADER], now=NOW
    ).ok
    assert SECRET.encode() not in request.content


def test_deliver_warns_without_the_url_path(capsys: pytest.CaptureFixture[str]) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(500)

    out = Output(color=False)
    url = "https://hooks.example/services/T000/B000/XXXXsecretpath"
    options = ClientOptions(transport=httpx.MockTransport(handler))
    assert not deliver(out, url, {"ok": 1}, secret=None, now=NOW, options=options)
    err = capsys.readouterr().err
    assert "HTTP 500" in err and "https://hooks.example" in err and "secretpath" not in err

    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused", request=request)

    options = ClientOptions(transport=httpx.MockTransport(refuse))
    assert not deliver(out, url, {"ok": 1}, secret=None, now=NOW, options=options)
    assert "secretpath" not in capsys.readouterr().err


@pytest.mark.parametrize(
    "mangle",
    [
        lambda s: s[:-1],  # one hex digit short
        lambda s: s[: len("sha256=") + 32],  # half the digest
        lambda s: s[: len("sha256=") + 1],
        lambda s: "sha256=",  # the prefix alone
        lambda s: "sha256= ",
        lambda s: s + "0",  # one digit too many
        lambda s: s.upper().replace("SHA256=", "sha256="),  # same digits, other case
        lambda s: ",",  # an empty list of signatures
        lambda s: f"{s[:-4]}, sha256=",  # truncated, then an empty one
    ],
)
def test_only_the_whole_signature_verifies(mangle: object) -> None:
    """A prefix or truncated compare (instead of compare_digest on the whole value) lets these in."""
    good = sign(SECRET, BODY, NOW)
    assert callable(mangle)
    bad = mangle(good)
    assert bad != good
    verdict = verify(SECRET, BODY, bad, str(NOW), now=NOW)
    assert verdict.ok is False and "mismatch" in verdict.reason
