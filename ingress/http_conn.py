"""One HTTP/1.1 connection: httptools parsing, an in-order response pipeline, limits.

Theory of operation
-------------------
httptools calls back as bytes arrive (`on_url`, `on_header`, `on_headers_complete`, `on_body`,
`on_message_complete`). A complete request is appended to `_queue`; the queue is served strictly
in order, one handler at a time, so pipelined requests are answered in the order they came.

An error detected while parsing (malformed bytes, headers too large, body too large) becomes an
error response queued *behind* the requests already received; input is closed from that point on
(further bytes are dropped, never buffered) and the connection closes once that response is out.
Because the client may still be sending the body it was refused, the socket is half-closed and
drained for `linger_s` instead of reset, so the client gets to read the answer.

A request asking for `Connection: close` (or an HTTP/1.0 request without keep-alive) also closes
input: whatever follows it is ignored, and the connection closes after its response.

Hygiene: one deadline at a time is armed: the first request's headers from the accept, a
request's headers from its first byte, its body from its headers; the housekeeping tick calls
`idle_check`, which refuses a late request with 408 (a connection that never sent a byte is just
closed). Every request byte held (the request being read, and requests queued until their
handler is done) is counted in the server's `buffered_bytes`; a byte beyond its cap refuses the
request with 503. A connection beyond `max_connections` is answered 503 and closed at once.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from dataclasses import dataclass
from typing import TYPE_CHECKING, cast
from urllib.parse import parse_qsl

import httptools

from ingress.http_types import EMPTY_QUERY as _NO_QUERY
from ingress.http_types import Request, Response, encode_response

if TYPE_CHECKING:
    from ingress.http import HttpServer

log = logging.getLogger(__name__)

_CONTINUE = b"HTTP/1.1 100 Continue\r\n\r\n"


class _Refuse(Exception):
    """Raised inside a parser callback to stop parsing and answer with `status`."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


class _StopInput(Exception):
    """Raised inside a parser callback: the request just completed is the last one read."""


@dataclass(slots=True)
class _Item:
    request: Request | None
    response: Response | None  # set: a ready-made error answer, `request` is None
    keep_alive: bool
    head: bool
    size: int = 0  # request bytes it holds (released when it leaves the queue)


class Connection(asyncio.Protocol):
    __slots__ = (
        "_body",
        "_body_len",
        "_busy",
        "_continue_pending",
        "_deadline",
        "_deadline_what",
        "_head_bytes",
        "_headers",
        "_in_message",
        "_input_closed",
        "_last_active",
        "_linger_until",
        "_lingering",
        "_message_bytes",
        "_parser",
        "_peer_eof",
        "_queue",
        "_reading_paused",
        "_server",
        "_transport",
        "_url",
        "_write_paused",
    )

    def __init__(self, server: HttpServer) -> None:
        self._server = server
        self._transport: asyncio.Transport | None = None
        self._parser = httptools.HttpRequestParser(self)
        self._queue: deque[_Item] = deque()
        self._busy = False  # a handler is running for the head of the pipeline
        self._input_closed = False  # no further requests are read from this connection
        self._lingering = False
        self._peer_eof = False
        self._linger_until = 0.0
        self._reading_paused = False
        self._write_paused = False  # the client is not reading: answer nothing more for now
        self._continue_pending = False
        self._in_message = False  # bytes of a request have arrived, its end has not
        self._last_active = server.now
        self._message_bytes = 0  # held for the request being read (counted by the server)
        self._deadline = server.now + server.options.header_timeout_s  # 0: none armed
        self._deadline_what = "first request"
        self._reset_message()

    def _reset_message(self) -> None:
        self._url: list[bytes] = []
        self._headers: dict[str, str] = {}
        self._head_bytes = 0
        self._body: list[bytes] = []
        self._body_len = 0

    # ------------------------------------------------------------------ asyncio.Protocol

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._transport = cast(asyncio.Transport, transport)
        if not self._server.connection_opened(self):
            self._input_closed = True
            limit = self._server.options.max_connections
            response = self._server.overloaded(
                f"too many connections (the limit is {limit}); retry later"
            )
            self._transport.write(
                encode_response(response, keep_alive=False, head=False, date=self._server.date)
            )
            self._transport.close()

    def connection_lost(self, exc: Exception | None) -> None:
        self._input_closed = True
        self._drop_message()
        self._clear_queue()
        self._server.connection_closed(self)

    def data_received(self, data: bytes) -> None:
        self._last_active = self._server.now
        if self._input_closed:
            return  # draining after an early reply, or after the last request: drop it
        try:
            self._parser.feed_data(data)
        except httptools.HttpParserCallbackError as exc:
            cause = exc.__context__
            if isinstance(cause, _Refuse):
                self._refuse(cause.status, cause.message)
            elif isinstance(cause, _StopInput):
                self._input_closed = True
            else:
                log.error("%s: parser callback failed", self._server.name, exc_info=cause)
                self._refuse(500, "internal error while reading the request")
        except httptools.HttpParserUpgrade:
            # The request before the upgrade is complete and queued; we do not upgrade.
            self._input_closed = True
            if self._queue:
                self._queue[-1].keep_alive = False
        except httptools.HttpParserError as exc:
            self._refuse(400, f"malformed HTTP request: {exc}")
        if len(self._queue) >= self._server.options.max_pipelined and not self._reading_paused:
            self._reading_paused = True
            self._pause_reading()
        self._serve_next()

    def pause_writing(self) -> None:
        self._write_paused = True

    def resume_writing(self) -> None:
        self._write_paused = False
        self._serve_next()

    def eof_received(self) -> bool | None:
        self._peer_eof = True
        if self._in_message and not self._input_closed:
            # The client stopped sending mid-request (garbage that looked like the start of a
            # request, or a request cut short): say so before closing, as for malformed bytes.
            self._refuse(400, "incomplete HTTP request: the client ended it before its end")
            self._serve_next()
        self._input_closed = True
        if self._busy or self._queue:
            return True  # keep the write side open to deliver the queued responses
        return None  # let the transport close

    # ------------------------------------------------------------------ httptools callbacks

    def on_message_begin(self) -> None:
        self._in_message = True
        self._arm(self._server.options.header_timeout_s, "headers")
        self._reset_message()

    def on_url(self, url: bytes) -> None:
        self._count_head(len(url))
        self._url.append(url)

    def on_header(self, name: bytes, value: bytes) -> None:
        self._count_head(len(name) + len(value) + 4)
        key = name.decode("latin-1").lower()
        text = value.decode("latin-1")
        previous = self._headers.get(key)
        self._headers[key] = text if previous is None else f"{previous}, {text}"

    def _count_head(self, n: int) -> None:
        self._head_bytes += n
        if self._head_bytes > self._server.options.max_header_bytes:
            raise _Refuse(431, "request headers too large")
        self._hold(n)

    def _hold(self, n: int) -> None:
        if not self._server.hold(n):
            raise _Refuse(503, "the server holds too many request bytes; retry later")
        self._message_bytes += n

    def _drop_message(self) -> None:
        """The request being read is abandoned: release what it held."""
        self._server.release(self._message_bytes)
        self._message_bytes = 0

    def on_headers_complete(self) -> None:
        self._arm(self._server.options.body_timeout_s, "body")
        limit = self._server.options.max_body_bytes
        length = self._headers.get("content-length")
        if length is not None and length.isdigit() and int(length) > limit:
            raise _Refuse(413, _too_large(limit))
        if self._headers.get("expect", "").lower() == "100-continue":
            if self._busy or self._queue:
                self._continue_pending = True  # sent when the pipeline reaches this request
            else:
                self._write(_CONTINUE)

    def on_body(self, chunk: bytes) -> None:
        self._body_len += len(chunk)
        if self._body_len > self._server.options.max_body_bytes:
            raise _Refuse(413, _too_large(self._server.options.max_body_bytes))
        self._hold(len(chunk))
        self._body.append(chunk)

    def on_message_complete(self) -> None:
        self._in_message = False
        self._deadline = 0.0
        self._continue_pending = False
        method = self._parser.get_method().decode("ascii")
        url = b"".join(self._url).decode("latin-1")
        path, _, query = url.partition("?")
        if "#" in query:
            query = query.partition("#")[0]
        if path.startswith(("http://", "https://")):  # absolute-form request target
            path = "/" + path.split("/", 3)[3] if path.count("/") >= 3 else "/"
        body = self._body[0] if len(self._body) == 1 else b"".join(self._body)
        request = Request(
            method,
            path,
            self._headers,
            body,
            dict(parse_qsl(query, keep_blank_values=True)) if query else _NO_QUERY,
        )
        keep_alive = self._parser.should_keep_alive()
        size, self._message_bytes = self._message_bytes, 0
        self._queue.append(_Item(request, None, keep_alive, method == "HEAD", size))
        self._reset_message()
        if not keep_alive:
            raise _StopInput

    # ------------------------------------------------------------------ pipeline

    def _refuse(self, status: int, message: str) -> None:
        """Queue an error answer behind what was received, and stop reading requests."""
        self._input_closed = True
        self._lingering = True
        self._deadline = 0.0
        self._drop_message()
        if status == 503:
            response = self._server.overloaded(message)
        else:
            response = self._server.error_response(status, message)
        self._queue.append(_Item(None, response, keep_alive=False, head=False))

    def _clear_queue(self) -> None:
        for item in self._queue:
            self._server.release(item.size)
        self._queue.clear()

    def _arm(self, seconds: float, what: str) -> None:
        self._deadline = self._server.now + seconds
        self._deadline_what = what

    def _serve_next(self) -> None:
        transport = self._transport
        while self._queue and not self._busy and not self._write_paused:
            if transport is None or transport.is_closing():
                self._clear_queue()
                return
            item = self._queue[0]
            if item.response is not None:
                self._queue.popleft()
                self._respond(item, item.response)
            elif item.request is not None:
                self._busy = True
                self._server.spawn(self._run(item, item.request))
                return
        if not self._queue:
            if self._reading_paused and not self._input_closed:
                self._reading_paused = False
                self._resume_reading()
            if self._continue_pending:
                self._continue_pending = False
                self._write(_CONTINUE)

    async def _run(self, item: _Item, request: Request) -> None:
        try:
            response = await self._server.handler(request)
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception(
                "%s: handler failed for %s %s",
                self._server.name,
                request.method,
                request.path,
            )
            response = self._server.error_response(
                500, "internal error while handling the request; the server log has details"
            )
        self._busy = False
        if self._queue and self._queue[0] is item:
            self._queue.popleft()
            self._server.release(item.size)
            self._respond(item, response)
        self._serve_next()

    def _respond(self, item: _Item, response: Response) -> None:
        transport = self._transport
        if transport is None or transport.is_closing():
            return
        keep_alive = item.keep_alive and not (self._input_closed and not self._queue)
        self._last_active = self._server.now
        transport.write(
            encode_response(response, keep_alive=keep_alive, head=item.head, date=self._server.date)
        )
        if keep_alive:
            return
        self._clear_queue()
        if self._lingering and not self._peer_eof and transport.can_write_eof():
            transport.write_eof()
            self._linger_until = self._server.now + self._server.options.linger_s
            self._resume_reading()
        else:
            transport.close()

    # ------------------------------------------------------------------ server-facing

    def shutdown(self) -> None:
        """Stop reading requests; close once the ones already received are answered."""
        self._input_closed = True
        if not self._busy and not self._queue and self._transport is not None:
            self._transport.close()

    def idle_check(self, now: float) -> None:
        transport = self._transport
        if transport is None or (transport.is_closing() and not self._lingering):
            return
        if self._lingering and self._linger_until and now >= self._linger_until:
            transport.abort()
        elif self._deadline and now >= self._deadline and not self._input_closed:
            self._late()
        elif not self._busy and now - self._last_active > self._server.options.idle_timeout_s:
            transport.close()

    def _late(self) -> None:
        """A deadline passed: 408 for a request that began; a silent close if none did."""
        if not self._in_message:
            self._input_closed = True
            self._deadline = 0.0
            if not self._busy and not self._queue and self._transport is not None:
                self._transport.close()
            return
        opts = self._server.options
        timeout = opts.body_timeout_s if self._deadline_what == "body" else opts.header_timeout_s
        self._refuse(408, f"the request's {self._deadline_what} did not arrive within {timeout} s")
        self._serve_next()

    def abort(self) -> None:
        if self._transport is not None:
            self._transport.abort()

    def _write(self, data: bytes) -> None:
        if self._transport is not None and not self._transport.is_closing():
            self._transport.write(data)

    def _pause_reading(self) -> None:
        if self._transport is not None and not self._transport.is_closing():
            self._transport.pause_reading()

    def _resume_reading(self) -> None:
        if self._transport is not None and not self._transport.is_closing():
            self._transport.resume_reading()


def _too_large(limit: int) -> str:
    return f"request body too large: the limit is {limit} bytes"
