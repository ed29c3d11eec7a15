"""The aiohttp transport under broadcast's ONE shared `httpx.AsyncClient` (the default; DIFYCTL_HTTP=httpx
selects the striped httpx pool), and `send_direct`: broadcast's blocking runs on the session itself.

Why: httpx + httpcore + h11 + anyio cost ~0.8 ms of CPU per request on the one event loop, so 100
requests in flight add ~80 ms of serial client work to a 200 ms call (benchmarks/RESULTS-broadcast.md).
aiohttp (C-accelerated parser, flat connection pool) halves what the client spends per request; httpx's
own client layer stays. Only the wire moves: the client above (auth, hooks, error mapping, SSE decoding,
the engine's retries) still sees httpx requests, responses and exceptions.

- One `aiohttp.ClientSession` per transport, created on the first request (it needs the running
  loop), closed by `aclose()` (the AsyncClient's close). `TCPConnector(limit=concurrency)`, keep-alive
  5 s (httpcore's default expiry: below the usual server keep-alive, so an idle socket is not reused
  while the server closes it).
- aiohttp adds nothing of its own: no decompression (httpx decodes `Content-Encoding`), no cookie
  jar (httpx's jar; difyctl's stores nothing), no redirects, no proxies (httpx mounts its own proxy
  transports for HTTP(S)_PROXY, so only direct requests reach this one), no automatic headers.
- The response body streams: `resp.content.iter_any()` hands every chunk as it arrives (SSE).
- Timeouts come from `request.extensions["timeout"]`: connect -> `sock_connect` (and, with a pool
  timeout, `connect` = pool + connect: aiohttp's bound on waiting for a slot plus connecting), read ->
  `sock_read` (the gap between two reads, as in httpcore). httpx's write timeout has no aiohttp
  counterpart (request bodies here are small JSON documents).
- aiohttp errors become the httpx errors the client already wraps: connection failures before
  anything was sent -> `ConnectError` / `ConnectTimeout` (safe to retry), read timeouts ->
  `ReadTimeout`, a connection dropped before or during the body -> `RemoteProtocolError`, other socket
  errors -> `ReadError`.
"""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import AsyncIterator, Callable, Sequence
from typing import Any

import aiohttp
import httpx
from yarl import URL

from difyctl.client.transport import ssl_context_for

_NO_AUTO_HEADERS = ("User-Agent", "Accept", "Accept-Encoding", "Content-Type")
_DROP_HEADERS = frozenset({"transfer-encoding"})  # the body is sent whole, with its Content-Length
_KEEPALIVE_S = 5.0


def _to_httpx(exc: BaseException, request: httpx.Request) -> httpx.TransportError:
    message = str(exc) or type(exc).__name__
    if isinstance(exc, aiohttp.ConnectionTimeoutError):
        return httpx.ConnectTimeout(message, request=request)
    if isinstance(exc, asyncio.TimeoutError):  # aiohttp.ServerTimeoutError / SocketTimeoutError
        return httpx.ReadTimeout(message, request=request)
    if isinstance(exc, aiohttp.ClientConnectorError):  # refused, DNS, TLS handshake, proxy connect
        return httpx.ConnectError(message, request=request)
    if isinstance(exc, aiohttp.ServerDisconnectedError | aiohttp.ClientPayloadError):
        return httpx.RemoteProtocolError(message, request=request)
    if isinstance(exc, aiohttp.ClientResponseError):  # a malformed status line or header
        return httpx.RemoteProtocolError(message, request=request)
    if isinstance(exc, aiohttp.InvalidURL | aiohttp.NonHttpUrlClientError):
        return httpx.UnsupportedProtocol(message, request=request)
    return httpx.ReadError(message, request=request)


_MAPPED: tuple[type[BaseException], ...] = (aiohttp.ClientError, asyncio.TimeoutError, OSError)


class _Body(httpx.AsyncByteStream):
    """The response body as aiohttp receives it, chunk by chunk; errors as httpx errors."""

    def __init__(self, response: aiohttp.ClientResponse, request: httpx.Request) -> None:
        self._response = response
        self._request = request

    async def __aiter__(self) -> AsyncIterator[bytes]:
        try:
            async for chunk in self._response.content.iter_any():
                yield chunk
        except _MAPPED as exc:
            raise _to_httpx(exc, self._request) from exc

    async def aclose(self) -> None:
        # a body read to its end returns the connection to the pool; a cut one closes it
        self._response.release()


class AiohttpTransport(httpx.AsyncBaseTransport):
    def __init__(self, concurrency: int, *, verify: bool | str = True, trust_env: bool = True) -> None:
        if concurrency < 1:
            raise ValueError("concurrency must be >= 1")
        self.concurrency = concurrency
        self._verify = verify
        self._trust_env = trust_env  # SSL_CERT_FILE / SSL_CERT_DIR for the TLS context
        self._ssl: ssl.SSLContext | None = None
        self._session: aiohttp.ClientSession | None = None
        self._closed = False
        self._urls: dict[tuple[str, str], URL] = {}

    def _ssl_context(self) -> ssl.SSLContext:
        if self._ssl is None:  # https only, built once (loading the CA bundle costs ~10-20 ms)
            self._ssl = ssl_context_for(self._verify, self._trust_env)
        return self._ssl

    def _get_session(self) -> aiohttp.ClientSession:
        if self._closed:
            raise RuntimeError("the transport is closed")
        if self._session is None:
            connector = aiohttp.TCPConnector(
                limit=self.concurrency, limit_per_host=0, keepalive_timeout=_KEEPALIVE_S
            )
            self._session = aiohttp.ClientSession(
                connector=connector,
                cookie_jar=aiohttp.DummyCookieJar(),
                skip_auto_headers=_NO_AUTO_HEADERS,
                auto_decompress=False,
                trust_env=False,
                timeout=aiohttp.ClientTimeout(total=None),
                raise_for_status=False,
            )
        return self._session

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        session = self._get_session()
        body = await request.aread()
        headers = [(k, v) for k, v in request.headers.multi_items() if k.lower() not in _DROP_HEADERS]
        if body and "content-length" not in request.headers:
            headers.append(("Content-Length", str(len(body))))
        kwargs: dict[str, Any] = {
            "headers": headers,
            "data": body or None,
            "allow_redirects": False,
            "timeout": _timeout(request),
        }
        if request.url.scheme == "https":
            kwargs["ssl"] = self._ssl_context()
        try:
            response = await session.request(request.method, URL(str(request.url), encoded=True), **kwargs)
        except _MAPPED as exc:
            raise _to_httpx(exc, request) from exc
        return httpx.Response(
            response.status,
            headers=list(response.raw_headers),
            stream=_Body(response, request),
            extensions={
                "http_version": b"HTTP/1.1",
                "reason_phrase": (response.reason or "").encode("ascii", "replace"),
            },
        )

    # -- the direct path: broadcast's blocking runs, without httpx's client layer ------------------
    def url(self, base_url: str, path: str) -> URL:
        """A pre-parsed URL per (base_url, path): parsed once, not on every request."""
        key = (base_url, path)
        found = self._urls.get(key)
        if found is None:
            found = self._urls[key] = URL(base_url.rstrip("/") + path, encoded=True)
        return found

    async def send_direct(
        self, method: str, url: URL, headers: dict[str, str], body: bytes, timeout: aiohttp.ClientTimeout
    ) -> tuple[int, Sequence[tuple[bytes, bytes]], bytes]:
        """One whole exchange on the session: (status, raw headers, body). Errors are the httpx errors
        `handle_async_request` raises, so the caller wraps them exactly as on the httpx path."""
        session = self._get_session()
        kwargs: dict[str, Any] = {
            "headers": headers,
            "data": body,
            "allow_redirects": False,
            "timeout": timeout,
        }
        if url.scheme == "https":
            kwargs["ssl"] = self._ssl_context()
        try:
            async with session.request(method, url, **kwargs) as response:
                return response.status, response.raw_headers, await response.read()
        except _MAPPED as exc:
            raise _to_httpx(exc, httpx.Request(method, str(url))) from exc

    async def send_checked(
        self,
        method: str,
        url_text: str,
        headers: dict[str, str],
        timeout: dict[str, Any],
        check: Callable[[], None],
    ) -> tuple[int, list[tuple[bytes, bytes]], bytes]:
        """A body-less request (the console client's direct path: key lookups, list pages, exports),
        `timeout` as httpx's dict; the body is read chunk by chunk and `check()` runs when the headers
        arrive and after every chunk (the caller's total deadline raises there, as `bound_body` does on
        the httpx path). Errors are the httpx errors `handle_async_request` raises."""
        session = self._get_session()
        url = URL(url_text, encoded=True)
        kwargs: dict[str, Any] = {
            "headers": headers,
            "allow_redirects": False,
            "timeout": client_timeout(timeout),
        }
        if url.scheme == "https":
            kwargs["ssl"] = self._ssl_context()
        try:
            async with session.request(method, url, **kwargs) as response:
                check()
                chunks = []
                async for chunk in response.content.iter_any():
                    check()
                    chunks.append(chunk)
                return response.status, list(response.raw_headers), b"".join(chunks)
        except _MAPPED as exc:
            raise _to_httpx(exc, httpx.Request(method, str(url))) from exc

    async def aclose(self) -> None:
        self._closed = True
        if self._session is not None:
            session, self._session = self._session, None
            await session.close()


def _timeout(request: httpx.Request) -> aiohttp.ClientTimeout:
    return client_timeout(request.extensions.get("timeout") or {})


def client_timeout(spec: dict[str, Any]) -> aiohttp.ClientTimeout:
    """httpx's timeout dict (`httpx.Timeout.as_dict()`) as aiohttp's."""
    connect, read, pool = spec.get("connect"), spec.get("read"), spec.get("pool")
    total_connect = connect + pool if connect is not None and pool is not None else None
    return aiohttp.ClientTimeout(total=None, connect=total_connect, sock_connect=connect, sock_read=read)
