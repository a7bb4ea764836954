"""A small HTTP/1.1 server on `asyncio.Protocol` + httptools, shared by ingress and admin API.

Chosen over ASGI servers because it is the cheapest per request we measured (see
`shared/research/feasibility.md` §5): the ingress sits on the hot path of every invocation.

    server = HttpServer(handler, HttpServerOptions(port=8080))
    port = await server.start()      # listening when it returns
    ...
    await server.close()             # stop accepting, finish in-flight responses (bounded)

Guarantees: requests on one connection are answered in the order received (pipelining);
a handler exception is logged and answered with 500 without details; a body over
`max_body_bytes` is refused with 413 as soon as its declared or received size exceeds the
limit, without buffering the rest; malformed HTTP gets 400 and the connection is closed.
Hygiene (see `HttpServerOptions`): a request whose headers or body do not arrive in time gets
408 and the connection is closed; connections beyond `max_connections`, and request bytes beyond
`max_buffered_bytes` over all connections, get 503 with `retry-after` and are closed.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Coroutine
from email.utils import formatdate
from typing import Any

from ingress.http_conn import Connection
from ingress.http_types import (
    ErrorRenderer,
    Handler,
    HttpServerOptions,
    Request,
    Response,
    default_error_response,
    json_response,
)

__all__ = [
    "ErrorRenderer",
    "Handler",
    "HttpServer",
    "HttpServerOptions",
    "Request",
    "Response",
    "default_error_response",
    "json_response",
]

log = logging.getLogger(__name__)


class HttpServer:
    """Serves `handler` over HTTP/1.1 on `options.host:options.port`."""

    def __init__(
        self,
        handler: Handler,
        options: HttpServerOptions | None = None,
        *,
        error_response: ErrorRenderer | None = None,
    ) -> None:
        """`error_response` renders the errors the server detects itself (400, 413, 431, 500);
        when not given, the handler's own `error_response` attribute is used if it has one
        (`IngressHandler` and `AdminApi` do), else `{"code", "message"}`."""
        self.handler = handler
        self.options = options or HttpServerOptions()
        renderer: ErrorRenderer = getattr(handler, "error_response", default_error_response)
        self.error_response = error_response or renderer
        self.name = self.options.name
        self.now = 0.0  # loop time, refreshed every second by the housekeeping task
        self.date = formatdate(usegmt=True).encode("ascii")
        self._connections: set[Connection] = set()
        self._tasks: set[asyncio.Task[None]] = set()
        self._listener: asyncio.Server | None = None
        self._housekeeping: asyncio.Task[None] | None = None
        self._drained = asyncio.Event()
        self._port = 0
        self.buffered_bytes = 0  # request bytes held by all connections (max_buffered_bytes)

    @property
    def port(self) -> int:
        """The bound port (0 before `start()`)."""
        return self._port

    async def start(self) -> int:
        """Bind and start accepting connections; returns the bound port."""
        if self._listener is not None:
            raise RuntimeError(f"{self.name} server already started")
        loop = asyncio.get_running_loop()
        self.now = loop.time()
        self._listener = await loop.create_server(
            lambda: Connection(self),
            self.options.host,
            self.options.port,
            backlog=self.options.backlog,
            reuse_address=True,
            reuse_port=self.options.reuse_port or None,
        )
        sockets = self._listener.sockets
        self._port = int(sockets[0].getsockname()[1]) if sockets else 0
        self._housekeeping = loop.create_task(self._keep_house(), name=f"{self.name}-housekeeping")
        log.info("%s server listening on %s:%d", self.name, self.options.host, self._port)
        return self._port

    async def close(self) -> None:
        """Stop accepting; let in-flight responses finish within `shutdown_timeout_s`."""
        listener, self._listener = self._listener, None
        if listener is None:
            return
        listener.close()
        for conn in list(self._connections):
            conn.shutdown()
        if self._connections:
            self._drained.clear()
            try:
                await asyncio.wait_for(self._drained.wait(), self.options.shutdown_timeout_s)
            except TimeoutError:
                log.warning(
                    "%s: %d connection(s) still busy after %.1fs, aborting them",
                    self.name,
                    len(self._connections),
                    self.options.shutdown_timeout_s,
                )
        for task in list(self._tasks):
            task.cancel()
        for conn in list(self._connections):
            conn.abort()
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)
        if self._housekeeping is not None:
            self._housekeeping.cancel()
            await asyncio.gather(self._housekeeping, return_exceptions=True)
        await listener.wait_closed()

    async def __aenter__(self) -> HttpServer:
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()

    # ------------------------------------------------------------------ used by connections

    def spawn(self, coro: Coroutine[Any, Any, None]) -> None:
        """Run one request handler; tracked so `close()` can wait for or cancel it."""
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def connection_opened(self, conn: Connection) -> bool:
        """Track `conn`; False when it is one too many (the caller answers 503 and closes)."""
        if len(self._connections) >= self.options.max_connections:
            return False
        self._connections.add(conn)
        if self._listener is None:
            conn.shutdown()  # accepted while closing
        return True

    def hold(self, n: int) -> bool:
        """Count `n` more request bytes held in memory; False (nothing counted) beyond the cap."""
        if self.buffered_bytes + n > self.options.max_buffered_bytes:
            return False
        self.buffered_bytes += n
        return True

    def release(self, n: int) -> None:
        self.buffered_bytes -= n

    def overloaded(self, message: str) -> Response:
        """The 503 for load shed by the server itself, with `retry-after`."""
        response = self.error_response(503, message)
        retry = ("retry-after", str(self.options.retry_after_s))
        return Response(response.status, response.body, (*response.headers, retry))

    def connection_closed(self, conn: Connection) -> None:
        self._connections.discard(conn)
        if not self._connections:
            self._drained.set()

    async def _keep_house(self) -> None:
        """Refresh the cached clock and date header; close idle and lingering connections."""
        loop = asyncio.get_running_loop()
        opts = self.options
        # Often enough that a timeout fires within a quarter of itself (tests use short ones).
        tick = max(0.02, min(1.0, opts.header_timeout_s / 4, opts.body_timeout_s / 4))
        while True:
            await asyncio.sleep(tick)
            self.now = loop.time()
            self.date = formatdate(usegmt=True).encode("ascii")
            for conn in list(self._connections):
                conn.idle_check(self.now)
