"""Small clients for the emulator tests: a console session that copies the CSRF cookie into the header."""

from __future__ import annotations

import atexit
import base64
import json
from typing import Any

import httpx

from difyctl.emulator import DEMO_EMAIL, DEMO_PASSWORD


def b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


class FakeClock:
    def __init__(self, start: float = 1_795_259_041.0) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


class Console:
    """An httpx client logged in to the console; every request carries X-CSRF-Token (like a browser)."""

    def __init__(self, base_url: str, prefix: str = "") -> None:
        self.prefix = prefix
        self.http = httpx.Client(base_url=base_url, timeout=10)

    def login(self, email: str = DEMO_EMAIL, password: str = DEMO_PASSWORD) -> httpx.Response:
        return self.http.post("/console/api/login", json={"email": email, "password": b64(password)})

    @property
    def csrf(self) -> str:
        return self.http.cookies.get(self.prefix + "csrf_token") or ""

    def request(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        headers = {"X-CSRF-Token": self.csrf, **kwargs.pop("headers", {})}
        return self.http.request(method, "/console/api" + path, headers=headers, **kwargs)

    def get(self, path: str, **kwargs: Any) -> httpx.Response:
        return self.request("GET", path, **kwargs)

    def post(self, path: str, **kwargs: Any) -> httpx.Response:
        return self.request("POST", path, **kwargs)

    def close(self) -> None:
        self.http.close()

    def __enter__(self) -> Console:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def logged_in(base_url: str, email: str = DEMO_EMAIL, password: str = DEMO_PASSWORD) -> Console:
    console = Console(base_url)
    response = console.login(email, password)
    assert response.status_code == 200, response.text
    return console


_clients: list[httpx.Client] = []


def _client() -> httpx.Client:
    """One pooled client for all service calls (creating an httpx.Client costs ~20 ms of TLS setup)."""
    if not _clients:
        _clients.append(httpx.Client(timeout=10))
        atexit.register(_clients[0].close)
    return _clients[0]


def svc(base_url: str, key: str, method: str, path: str, **kwargs: Any) -> httpx.Response:
    headers = {"Authorization": f"Bearer {key}", **kwargs.pop("headers", {})}
    return _client().request(method, base_url + "/v1" + path, headers=headers, **kwargs)


def sse_events(text: str) -> list[str]:
    """Event names of a Dify stream: 'ping' for keep-alives, else the JSON's event field."""
    names = []
    for frame in text.split("\n\n"):
        if frame == "event: ping":
            names.append("ping")
        elif frame.startswith("data: "):
            names.append(json.loads(frame[6:])["event"])
    return names


def sse_payloads(text: str) -> list[dict[str, Any]]:
    return [json.loads(f[6:]) for f in text.split("\n\n") if f.startswith("data: ")]
