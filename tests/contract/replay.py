"""Replaying recorded Dify exchanges against the emulator: id/token mapping, shape and value comparison."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
# server-made values mapped from the recording to the emulator: ids, service keys, device-flow codes
LEARNED = re.compile(UUID.pattern[:-1] + r"|^app-|^dc_|^dfoa_|^[A-Z0-9]{4}-[A-Z0-9]{4}$")
SEND_HEADERS = ("authorization", "x-csrf-token", "cookie", "content-type", "x-workspace-id", "user-agent")
SESSION_PLACEHOLDER = "[cookies of the session]"  # 1.16.0 recorded request cookies as this


@dataclass
class Exchange:
    number: str
    name: str
    data: dict[str, Any]
    sse: str | None

    @property
    def request(self) -> dict[str, Any]:
        return dict(self.data["request"])

    @property
    def response(self) -> dict[str, Any]:
        return dict(self.data["response"])


def load_exchanges(folder: Path) -> list[Exchange]:
    """Exchanges in recording order (INDEX.tsv order; the numbers tell the order)."""
    exchanges = []
    for line in (folder / "INDEX.tsv").read_text().splitlines():
        if not line.strip():
            continue
        file_name = line.split("\t")[0]
        path = folder / file_name
        sse_path = path.with_suffix(".sse")
        sse = sse_path.read_text() if sse_path.exists() else None
        exchanges.append(Exchange(file_name[:3], file_name, json.loads(path.read_text()), sse))
    return exchanges


def shape_diff(expected: Any, actual: Any, path: str = "$") -> list[str]:
    """Differences of JSON shape: keys and value types, recursively; lists compare their first items."""
    if isinstance(expected, dict):
        if not isinstance(actual, dict):
            return [f"{path}: expected object, got {type(actual).__name__}"]
        problems = []
        if set(expected) != set(actual):
            problems.append(
                f"{path}: keys differ (missing {sorted(set(expected) - set(actual))}, "
                f"extra {sorted(set(actual) - set(expected))})"
            )
        for key in sorted(set(expected) & set(actual)):
            problems += shape_diff(expected[key], actual[key], f"{path}.{key}")
        return problems
    if isinstance(expected, list):
        if not isinstance(actual, list):
            return [f"{path}: expected array, got {type(actual).__name__}"]
        if expected and actual:
            return shape_diff(expected[0], actual[0], f"{path}[0]")
        return []
    if _kind(expected) != _kind(actual):
        return [f"{path}: expected {_kind(expected)}, got {_kind(actual)}"]
    return []


def _kind(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int | float):
        return "number"
    return type(value).__name__


def sse_frames(text: str) -> list[dict[str, Any] | None]:
    """None for a ping, else the frame's JSON."""
    frames: list[dict[str, Any] | None] = []
    for chunk in text.split("\n\n"):
        if chunk.strip() == "event: ping":
            frames.append(None)
        elif chunk.startswith("data: "):
            frames.append(json.loads(chunk[6:]))
    return frames


@dataclass
class Replayer:
    """Rewrites fixture requests for the emulator and learns what must differ from paired responses."""

    base_url: str
    mapping: dict[str, str] = field(default_factory=dict)
    # the emulator's current session cookies: the 1.16.0 recording sends them as a placeholder
    session: dict[str, str] = field(default_factory=dict)

    def substitute(self, value: Any) -> Any:
        if isinstance(value, str):
            if value in self.mapping:
                return self.mapping[value]
            for old in sorted((k for k in self.mapping if k in value), key=len, reverse=True):
                value = value.replace(old, self.mapping[old])
            return value
        if isinstance(value, dict):
            return {k: self.substitute(v) for k, v in value.items()}
        if isinstance(value, list):
            return [self.substitute(v) for v in value]
        return value

    def learn(self, expected: Any, actual: Any) -> None:
        """Pair server-made ids/keys of the recording with the emulator's, at the same JSON path."""
        if isinstance(expected, dict) and isinstance(actual, dict):
            for key in expected.keys() & actual.keys():
                self.learn(expected[key], actual[key])
        elif isinstance(expected, list) and isinstance(actual, list):
            for left, right in zip(expected, actual, strict=False):
                self.learn(left, right)
        elif isinstance(expected, str) and isinstance(actual, str) and expected != actual:
            if LEARNED.match(expected) and expected not in self.mapping:
                self.mapping[expected] = actual

    def learn_cookies(self, recorded: list[str], received: list[str]) -> None:
        def values(headers: list[str]) -> dict[str, str]:
            pairs = (h.split(";", 1)[0].split("=", 1) for h in headers)
            return {name: value for name, value in pairs if value}

        got = values(received)
        self.session.update(got)
        for name, value in values(recorded).items():
            if name in got:
                self.mapping[value] = got[name]

    def send(self, client: httpx.Client, exchange: Exchange, read_timeout: float | None) -> Received:
        request = exchange.request
        url = self.substitute(request["url"].split("://", 1)[1].split("/", 1)[1])
        headers = {k: self.substitute(v) for k, v in request["headers"].items() if k.lower() in SEND_HEADERS}
        for name, value in headers.items():
            if value == SESSION_PLACEHOLDER:
                headers[name] = "; ".join(f"{k}={v}" for k, v in self.session.items())
        body = request.get("body")
        content = None
        if isinstance(body, str):
            content = body.encode()
        elif body is not None:
            content = json.dumps(self.substitute(body)).encode()
        timeout = httpx.Timeout(10.0, read=read_timeout)
        req = client.build_request(
            request["method"], f"{self.base_url}/{url}", headers=headers, content=content, timeout=timeout
        )
        response = client.send(req, stream=True)
        data = b""
        try:
            for part in response.iter_bytes():
                data += part
        except httpx.ReadTimeout:
            pass  # a stream that stays silent (fixture 039): keep what arrived
        finally:
            response.close()
        received = Received(response.status_code, response.headers.get_list("set-cookie"), data)
        received.version = response.headers.get("x-version")
        received.content_type = response.headers.get("content-type")
        return received


@dataclass
class Received:
    status: int
    set_cookie: list[str]
    body: bytes
    version: str | None = None
    content_type: str | None = None

    def json(self) -> Any:
        return json.loads(self.body)


# Top-level JSON fields whose value the client acts on, compared exactly (after id mapping):
# error bodies (code/status/message), import outcomes (status, versions, error), {"result": ...} answers.
VALUE_KEYS = ("code", "status", "message", "result", "current_dsl_version", "imported_dsl_version", "error")


def value_diff(expected: Any, actual: Any, substitute: Any, path: str = "$") -> list[str]:
    """Differences of the values a client acts on; ``substitute`` maps recorded ids into the emulator's."""
    if not isinstance(expected, dict) or not isinstance(actual, dict):
        return []
    problems = []
    for key in VALUE_KEYS:
        if key not in expected:
            continue
        want = expected[key]
        if isinstance(want, dict):  # {"error": {"type", "message", "status"}} of setup/init (1.13.2/003)
            problems += value_diff(want, actual.get(key), substitute, f"{path}.{key}")
            continue
        if isinstance(want, list):
            continue
        if substitute(want) != actual.get(key):
            problems.append(f"{path}.{key}: {actual.get(key)!r} != recorded {want!r}")
    return problems


def cookie_attributes(headers: list[str]) -> dict[str, list[str]]:
    """Set-Cookie name -> its attributes (Expires without its date, which follows the clock)."""
    result = {}
    for header in headers:
        name_value, *attributes = (part.strip() for part in header.split(";"))
        kept = []
        for attribute in attributes:
            key = attribute.split("=", 1)[0]
            kept.append(key if key.lower() == "expires" else attribute)
        result[name_value.split("=", 1)[0]] = kept
    return result
