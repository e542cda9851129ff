"""A lean HTTP/1.1 node for the official client: keep-alive connections on asyncio's own
transports, responses parsed by httptools (uvicorn's C parser), no session or middleware.

Per search it costs about a quarter of aiohttp's client CPU (0.07 against 0.26-0.28 ms a
call on this machine, ``bench/README.md``, "Search workload"), which is most of what the
gateway adds to a search. It is a node class of ``elastic_transport`` like aiohttp's, so the
client's transport keeps its node pool, retries, serializers and errors. It inherits
:class:`AiohttpHttpNode` for everything it does not do itself: TLS certificates are set up
by that class (this node opens its TLS connections with the same context), and the rare
requests it leaves to aiohttp are ``HEAD`` (whose responses announce a body they do not
carry), gzip (``http_compress``) and certificate fingerprint pinning.
"""

from __future__ import annotations

import asyncio
import logging
import ssl
import time
from collections import deque
from typing import cast

import httptools
from elastic_transport import (
    AiohttpHttpNode,
    ApiResponseMeta,
    ConnectionTimeout,
    HttpHeaders,
    NodeConfig,
    TlsError,
)
from elastic_transport import ConnectionError as TransportConnectionError
from elastic_transport._node import NodeApiResponse
from elastic_transport.client_utils import DEFAULT, DefaultType

_NODE_LOG = logging.getLogger("elastic_transport.node")
MAX_RESPONSE_BYTES = 256 * 1024 * 1024  # a runaway answer fails instead of exhausting memory


class _Exchange(asyncio.Protocol):
    """One keep-alive connection: sends a request, collects its response."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self._transport: asyncio.Transport | None = None
        self._parser = httptools.HttpResponseParser(self)
        self._answer: asyncio.Future[None] | None = None
        self._headers: list[tuple[str, str]] = []
        self._body: list[bytes] = []
        self._size = 0
        self._keep_alive = False
        self._status = 0
        self.open = False

    # asyncio.Protocol
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._transport = cast(asyncio.Transport, transport)  # uvloop's is no subclass
        self.open = True

    def data_received(self, data: bytes) -> None:
        if self._answer is None or self._answer.done():
            self._fail(TransportConnectionError("the search server sent bytes nobody asked for"))
            return
        try:
            self._parser.feed_data(data)
        except httptools.HttpParserError as error:
            self._fail(TransportConnectionError(f"malformed HTTP response: {error}"))

    def connection_lost(self, exc: Exception | None) -> None:
        self.open = False
        reason = exc or "EOF"
        self._fail(TransportConnectionError(f"the search server closed the connection: {reason}"))

    # httptools callbacks
    def on_header(self, name: bytes, value: bytes) -> None:
        self._headers.append((name.decode("latin-1"), value.decode("latin-1")))

    def on_body(self, body: bytes) -> None:
        self._size += len(body)
        if self._size > MAX_RESPONSE_BYTES:
            self._fail(TransportConnectionError(f"response larger than {MAX_RESPONSE_BYTES} bytes"))
            return
        self._body.append(body)

    def on_message_complete(self) -> None:
        # asked here: once the parser moves on to the next message it no longer knows
        self._keep_alive = self._parser.should_keep_alive()
        self._status = self._parser.get_status_code()
        if self._answer is not None and not self._answer.done():
            self._answer.set_result(None)

    async def exchange(self, request: bytes) -> tuple[int, list[tuple[str, str]], bytes]:
        """Send ``request``; the status, headers and body of its response. The connection
        stays usable only when this returns and :attr:`open` is still true."""
        assert self._transport is not None
        self._headers, self._body, self._size = [], [], 0
        self._answer = self.loop.create_future()
        self._transport.write(request)
        await self._answer
        if not self._keep_alive:
            self.close()
        return self._status, self._headers, b"".join(self._body)

    def close(self) -> None:
        self.open = False
        if self._transport is not None:
            self._transport.close()

    def _fail(self, error: Exception) -> None:
        self.close()
        if self._answer is not None and not self._answer.done():
            self._answer.set_exception(error)


class StreamHttpNode(AiohttpHttpNode):
    """HTTP/1.1 over asyncio transports, at most ``connections_per_node`` at once."""

    def __init__(self, config: NodeConfig) -> None:
        super().__init__(config)
        self._idle: deque[_Exchange] = deque()
        self._slots = asyncio.Semaphore(config.connections_per_node)
        host = f"[{config.host}]" if ":" in config.host else config.host  # an IPv6 address
        self._host_header = f"{host}:{config.port}".encode("ascii")
        self._prefix = config.path_prefix

    async def perform_request(  # type: ignore[override]
        self,
        method: str,
        target: str,
        body: bytes | None = None,
        headers: HttpHeaders | None = None,
        request_timeout: DefaultType | float | None = DEFAULT,
    ) -> NodeApiResponse:
        if method == "HEAD" or self._http_compress or self._ssl_assert_fingerprint:
            return await super().perform_request(method, target, body, headers, request_timeout)
        timeout = self.config.request_timeout if request_timeout is DEFAULT else request_timeout
        request_headers = self._headers.copy()
        if headers:
            request_headers.update(headers)
        request = self._request(method, target, body, request_headers)
        started = time.perf_counter()
        try:
            async with self._slots, asyncio.timeout(timeout):
                status, answer_headers, answer = await self._exchange(request)
        except (TimeoutError, TransportConnectionError, OSError) as error:
            raised = _transport_error(error)
            self._log(method, target, request_headers, body, exception=raised)
            raise raised from None
        meta = ApiResponseMeta(
            node=self.config,
            duration=time.perf_counter() - started,
            http_version="1.1",
            status=status,
            headers=HttpHeaders(answer_headers),
        )
        self._log(method, target, request_headers, body, meta=meta, response=answer)
        return NodeApiResponse(meta, answer)

    async def close(self) -> None:  # type: ignore[override]
        while self._idle:
            self._idle.popleft().close()
        await super().close()

    async def _exchange(self, request: bytes) -> tuple[int, list[tuple[str, str]], bytes]:
        """On an idle connection, or a new one; a connection goes back to the idle ones only
        after a whole response (a cancelled or failed exchange closes it)."""
        connection = self._idle_connection() or await self._connect()
        done = False
        try:
            answer = await connection.exchange(request)
            done = True
            return answer
        finally:
            if done and connection.open:
                self._idle.append(connection)
            else:
                connection.close()

    def _idle_connection(self) -> _Exchange | None:
        loop = asyncio.get_running_loop()
        while self._idle:
            connection = self._idle.pop()
            if connection.open and connection.loop is loop:
                return connection
            connection.close()
        return None

    async def _connect(self) -> _Exchange:
        loop = asyncio.get_running_loop()
        tls = self._ssl_context if self.config.scheme == "https" else None
        hostname = None
        if tls is not None:
            hostname = self.config.ssl_assert_hostname or self.config.host
        _, connection = await loop.create_connection(
            lambda: _Exchange(loop),
            self.config.host,
            self.config.port,
            ssl=tls,
            server_hostname=hostname,
        )
        return connection

    def _request(self, method: str, target: str, body: bytes | None, headers: HttpHeaders) -> bytes:
        lines = [f"{method} {self._prefix}{target} HTTP/1.1".encode("ascii")]
        lines.append(b"host: " + self._host_header)
        for name, value in headers.items():
            if "\r" in value or "\n" in value or "\r" in name or "\n" in name:
                raise ValueError(f"HTTP header {name!r} holds a line break")
            lines.append(f"{name}: {value}".encode("latin-1"))
        if body is not None or method in ("POST", "PUT"):
            lines.append(b"content-length: %d" % (len(body) if body else 0))
        return b"\r\n".join(lines) + b"\r\n\r\n" + (body or b"")

    def _log(
        self,
        method: str,
        target: str,
        headers: HttpHeaders,
        body: bytes | None,
        meta: ApiResponseMeta | None = None,
        response: bytes | None = None,
        exception: Exception | None = None,
    ) -> None:
        # the base class formats every request and response whenever any handler exists
        # anywhere up the logger tree, to then drop them below DEBUG
        if _NODE_LOG.isEnabledFor(logging.DEBUG):
            self._log_request(method, target, headers, body, meta, response, exception)


def _transport_error(error: Exception) -> Exception:
    """The transport's error for a failed exchange, as aiohttp's node raises them."""
    if isinstance(error, TimeoutError):
        return ConnectionTimeout("Connection timed out during request", errors=(error,))
    if isinstance(error, TransportConnectionError):
        return error
    if isinstance(error, ssl.SSLError):
        return TlsError(str(error), errors=(error,))
    return TransportConnectionError(str(error), errors=(error,))
