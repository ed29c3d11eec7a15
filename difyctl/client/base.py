"""The shared request/response logic of every client, sync and async.

A request is a `RequestSpec` (method, path, params, body, idempotency, auth on/off); an endpoint
is a `Call` = spec + a parser of the JSON body. The console and service clients only describe
calls; `SyncAPIClient` / `AsyncAPIClient` send them. Every decision (retry or not, how long to
wait, what a response means) lives in `BaseClient`; the two twins only differ in `await`.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Mapping
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

import httpx

from difyctl.client.errors import ATTEMPTS, DifyProtocolError, make_status_error
from difyctl.client.retry import delay_for, should_retry, was_sent
from difyctl.client.transport import (
    ClientOptions,
    DeadlineExceeded,
    Runtime,
    bound_body,
    build_async_client,
    build_client,
    wrap_transport_error,
)

T = TypeVar("T")
_S = TypeVar("_S", bound="SyncAPIClient")
_A = TypeVar("_A", bound="AsyncAPIClient")
logger = logging.getLogger("difyctl.http")

_IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


@dataclass(frozen=True)
class RequestSpec:
    method: str
    path: str
    params: Mapping[str, Any] | None = None
    json: Any = None  # None: no body
    idempotent: bool | None = None  # None: GET/HEAD/OPTIONS yes, anything else no
    authenticated: bool = True  # False: send without the client's auth (/health, login)
    # An error status whose JSON body is data, not an error (import: 400 + {"status": "failed"}).
    accept: Callable[[int, Any], bool] | None = None

    @property
    def safe_path(self) -> str:
        """The path for messages and logs: never a query string."""
        return self.path.split("?", 1)[0]

    @property
    def is_idempotent(self) -> bool:
        if self.idempotent is not None:
            return self.idempotent
        return self.method.upper() in _IDEMPOTENT_METHODS


@dataclass(frozen=True)
class Call(Generic[T]):
    """One endpoint: what to send and how to read the answer."""

    spec: RequestSpec
    parse: Callable[[Any], T]


def _tried(response: httpx.Response, attempts: int) -> httpx.Response:
    """The final answer of a retried request says how many times it was sent: an error made from it
    reads 'HTTP 502 ... (after 3 attempts)', as a retried timeout or connection failure does."""
    if attempts > 1:
        response.extensions[ATTEMPTS] = attempts
    return response


def _query(params: Mapping[str, Any] | None) -> dict[str, str] | None:
    if not params:
        return None
    out: dict[str, str] = {}
    for key, value in params.items():
        if value is None:
            continue
        out[key] = ("true" if value else "false") if isinstance(value, bool) else str(value)
    return out


def _try_json(response: httpx.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        return None


class BaseClient:
    # a base URL pasted with the API prefix (".../v1", ".../console/api") still works
    api_prefix = ""

    def __init__(self, base_url: str, options: ClientOptions | None, runtime: Runtime | None) -> None:
        base_url = base_url.rstrip("/")
        if self.api_prefix and base_url.endswith(self.api_prefix):
            base_url = base_url[: -len(self.api_prefix)]
        self.base_url = base_url
        self.options = options or ClientOptions()
        self.runtime = runtime or Runtime()
        self.last_server_version: str | None = None  # from the X-Version header of any response

    def _record_version(self, response: httpx.Response) -> None:
        version = response.headers.get("x-version")
        if version:
            self.last_server_version = version.strip()

    def _body_deadline(self, stream: bool) -> float | None:
        """The whole response's bound: a stream (SSE) may go on as long as the server runs a run."""
        return self.options.stream_deadline if stream else self.options.deadline

    def _retry_delay(
        self,
        spec: RequestSpec,
        attempt: int,
        response: httpx.Response | None,
        exc: BaseException | None,
        started: float,
    ) -> float | None:
        """Seconds to wait before the next attempt, or None to stop here (also when the next attempt
        could not start before the request's deadline: `--timeout` bounds the retries too)."""
        policy = self.options.retry
        if attempt >= policy.max_retries:
            return None
        if exc is not None:
            retry = should_retry(idempotent=spec.is_idempotent, sent=was_sent(exc), exc=exc)
        else:
            assert response is not None
            retry = should_retry(idempotent=spec.is_idempotent, sent=True, status=response.status_code)
        if not retry:
            return None
        delay = delay_for(attempt, response, policy, self.runtime.rng, self.runtime.now())
        deadline = self.options.deadline
        if deadline is not None and self.runtime.clock() - started + delay >= deadline:
            return None
        what = f"HTTP {response.status_code}" if response is not None else type(exc).__name__
        logger.debug("retrying %s %s after %s in %.2f s", spec.method, spec.safe_path, what, delay)
        return delay

    def _process_response(self, response: httpx.Response, spec: RequestSpec) -> Any:
        """The JSON body of a successful (or accepted) response; an error otherwise."""
        if response.is_success:
            return self._parse_success(response, spec)
        if spec.accept is not None:
            body = _try_json(response)
            if spec.accept(response.status_code, body):
                return body
        raise make_status_error(response)

    @staticmethod
    def _parse_success(response: httpx.Response, spec: RequestSpec) -> Any:
        if response.status_code == 204 or not response.content.strip():
            return None
        try:
            return response.json()
        except ValueError:
            content_type = response.headers.get("content-type", "").split(";")[0].strip() or "no content type"
            hint = (
                "a proxy or the web UI answered instead of the API: check the base URL"
                if "html" in content_type
                else None
            )
            raise DifyProtocolError(
                f"{spec.method} {spec.safe_path} answered HTTP {response.status_code} "
                f"with {content_type}, not JSON",
                status_code=response.status_code,
                hint=hint,
            ) from None

    def _auth_arg(self, spec: RequestSpec) -> Any:
        return httpx.USE_CLIENT_DEFAULT if spec.authenticated else None


class SyncAPIClient(BaseClient):
    def __init__(
        self,
        base_url: str,
        *,
        auth: httpx.Auth | None,
        options: ClientOptions | None = None,
        runtime: Runtime | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(base_url, options, runtime)
        self.auth = auth
        self._client = build_client(self.base_url, self.options, self.runtime, auth=auth, headers=headers)

    def close(self) -> None:
        self._client.close()

    def __enter__(self: _S) -> _S:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def _send(self, spec: RequestSpec, *, stream: bool = False) -> httpx.Response:
        request = self._client.build_request(
            spec.method, spec.path, params=_query(spec.params), json=spec.json
        )
        attempt = 0
        started = self.runtime.clock()
        while True:
            response: httpx.Response | None = None
            try:
                response = self._client.send(request, stream=True, auth=self._auth_arg(spec))
                # the whole body within the deadline, not only each read; a stream's too: Dify's
                # pings every ~10 s keep a stuck run's stream open past any read timeout
                bound_body(response, started, self._body_deadline(stream), self.runtime.clock)
                if not stream:
                    response.read()
            except httpx.TransportError as exc:
                if response is not None:
                    response.close()
                delay = self._retry_delay(spec, attempt, None, exc, started)
                if delay is None:
                    raise wrap_transport_error(exc, request, attempts=attempt + 1) from exc
            else:
                self._record_version(response)
                delay = self._retry_delay(spec, attempt, response, None, started)
                if delay is None:
                    return _tried(response, attempt + 1)
                response.close()
            self.runtime.sleep(delay)
            attempt += 1

    def exchange(self, spec: RequestSpec) -> tuple[Any, httpx.Response]:
        """The processed body and the response itself (for headers such as Set-Cookie)."""
        response = self._send(spec)
        return self._process_response(response, spec), response

    def request(self, spec: RequestSpec) -> Any:
        return self.exchange(spec)[0]

    def call(self, call: Call[T]) -> T:
        return call.parse(self.request(call.spec))

    @contextmanager
    def open_stream(self, spec: RequestSpec) -> Iterator[httpx.Response]:
        """A response whose body is not read yet; error statuses are raised before the yield."""
        response = self._send(spec, stream=True)
        try:
            if not response.is_success:
                try:
                    response.read()
                except httpx.TransportError as exc:
                    raise wrap_transport_error(exc, response.request) from exc
                raise make_status_error(response)
            yield response
        finally:
            response.close()


class AsyncAPIClient(BaseClient):
    def __init__(
        self,
        base_url: str,
        *,
        auth: httpx.Auth | None,
        options: ClientOptions | None = None,
        runtime: Runtime | None = None,
        headers: dict[str, str] | None = None,
        http_client: httpx.AsyncClient | None = None,
    ) -> None:
        super().__init__(base_url, options, runtime)
        self.auth = auth
        # A shared pool (broadcast: one AsyncClient per base_url for many apps). It must have been
        # built for the same base_url (`build_async_client`); the owner closes it, auth goes per request.
        self._owns_client = http_client is None
        self._client = http_client or build_async_client(
            self.base_url, self.options, self.runtime, auth=auth, headers=headers
        )

    async def aclose(self) -> None:
        if self._owns_client:
            await self._client.aclose()

    def _auth_arg(self, spec: RequestSpec) -> Any:
        if self._owns_client:
            return super()._auth_arg(spec)
        return self.auth if spec.authenticated else None

    async def __aenter__(self: _A) -> _A:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    def _direct_route(self, spec: RequestSpec) -> tuple[Any, dict[str, str]] | None:
        """(the transport's `send_checked`, the request headers) when `spec` can skip httpx's client
        layer (~0.2 ms of CPU per request of ~0.55: URL merging, the auth flow, hooks, cookie
        extraction): a body-less request on the aiohttp fan-out transport, an auth with plain headers,
        no --verbose trace (which lives in httpx's hooks). Anything else takes the httpx path."""
        send = getattr(self.options.async_transport, "send_checked", None)
        if send is None or spec.json is not None or logger.isEnabledFor(logging.DEBUG):
            return None
        headers = dict(self._client.headers)
        auth = self.auth if spec.authenticated else None
        if auth is not None:
            direct_headers = getattr(auth, "direct_headers", None)
            if direct_headers is None:
                return None
            headers.update(direct_headers())
        return send, headers

    def _direct_attempt(
        self, spec: RequestSpec, started: float, send: Any, headers: dict[str, str]
    ) -> tuple[Callable[[], Awaitable[httpx.Response]], Callable[[], httpx.Request]]:
        """One attempt on the aiohttp session (and the request, for errors): the total deadline is
        checked at the headers and after every chunk, as `bound_body` does on the httpx path, and a
        401 to a console session is refreshed once, as its auth flow does (`direct_refresh`, under
        the auth's lock), then replayed."""
        query = _query(spec.params)
        text = f"{self.base_url}{spec.path}" + (f"?{httpx.QueryParams(query)}" if query else "")
        clock, deadline = self.runtime.clock, self.options.deadline
        timeout = self.options.timeout.as_dict()
        auth = self.auth if spec.authenticated else None
        refresh = getattr(auth, "direct_refresh", None)
        used = getattr(getattr(auth, "session", None), "access_token", "")

        def request() -> httpx.Request:  # for errors only: parsing the URL again costs ~0.1 ms
            # the timeout too: a read timeout's message says how long it waited ("in 60 s")
            return httpx.Request(spec.method, text, headers=headers, extensions={"timeout": timeout})

        def check() -> None:
            if deadline is not None and clock() - started > deadline:
                raise DeadlineExceeded(deadline, request())

        async def once() -> httpx.Response:
            nonlocal headers
            status, raw, body = await send(spec.method, text, headers, timeout, check)
            if status == 401 and refresh is not None:
                headers = {**headers, **await refresh(used, request(), self._send_plain)}
                status, raw, body = await send(spec.method, text, headers, timeout, check)
                auth.direct_replayed(status)  # type: ignore[union-attr]
            response = httpx.Response(status, headers=raw, content=body)
            if not response.is_success:  # error messages name the request
                response.request = request()
            return response

        return once, request

    def _httpx_attempt(
        self, spec: RequestSpec, started: float, stream: bool
    ) -> tuple[Callable[[], Awaitable[httpx.Response]], Callable[[], httpx.Request]]:
        """One attempt through httpx's client (auth flow, hooks): the whole body within the deadline,
        not only each read (a stream's too, whose pings would keep a stuck run open forever)."""
        request = self._client.build_request(
            spec.method, spec.path, params=_query(spec.params), json=spec.json
        )

        async def once() -> httpx.Response:
            response = await self._client.send(request, stream=True, auth=self._auth_arg(spec))
            try:
                bound_body(response, started, self._body_deadline(stream), self.runtime.clock)
                if not stream:
                    await response.aread()
            except httpx.TransportError:
                await response.aclose()
                raise
            return response

        return once, lambda: request

    async def _send_plain(self, request: httpx.Request) -> httpx.Response:
        """A request of the auth itself (the session refresh), as the auth flow would send it."""
        return await self._client.send(request, auth=None)

    async def _send(self, spec: RequestSpec, *, stream: bool = False) -> httpx.Response:
        started = self.runtime.clock()
        route = None if stream else self._direct_route(spec)
        if route is not None:
            once, request = self._direct_attempt(spec, started, *route)
        else:
            once, request = self._httpx_attempt(spec, started, stream)
        attempt = 0
        while True:
            try:
                response = await once()
            except httpx.TransportError as exc:
                delay = self._retry_delay(spec, attempt, None, exc, started)
                if delay is None:
                    raise wrap_transport_error(exc, request(), attempts=attempt + 1) from exc
            else:
                self._record_version(response)
                delay = self._retry_delay(spec, attempt, response, None, started)
                if delay is None:
                    return _tried(response, attempt + 1)
                await response.aclose()
            await self.runtime.asleep(delay)
            attempt += 1

    async def exchange(self, spec: RequestSpec) -> tuple[Any, httpx.Response]:
        response = await self._send(spec)
        return self._process_response(response, spec), response

    async def request(self, spec: RequestSpec) -> Any:
        return (await self.exchange(spec))[0]

    async def call(self, call: Call[T]) -> T:
        return call.parse(await self.request(call.spec))

    @asynccontextmanager
    async def open_stream(self, spec: RequestSpec) -> AsyncIterator[httpx.Response]:
        response = await self._send(spec, stream=True)
        try:
            if not response.is_success:
                try:
                    await response.aread()
                except httpx.TransportError as exc:
                    raise wrap_transport_error(exc, response.request) from exc
                raise make_status_error(response)
            yield response
        finally:
            await response.aclose()
