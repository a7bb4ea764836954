"""Request, Response and options of Perdure's small HTTP/1.1 server (see `ingress.http`)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from http import HTTPStatus
from types import MappingProxyType

import orjson

EMPTY_QUERY: Mapping[str, str] = MappingProxyType({})


@dataclass(frozen=True, slots=True)
class Request:
    """One parsed HTTP request, body fully received."""

    method: str  # upper case, as sent ("GET", "POST", ...)
    path: str  # raw (still percent-encoded) path, without query string
    headers: Mapping[str, str]  # lower-cased names; repeated headers joined with ", "
    body: bytes
    query: Mapping[str, str]  # decoded; last value wins (EMPTY_QUERY when there is none)


@dataclass(frozen=True, slots=True)
class Response:
    """An HTTP response; the server adds content-length, date and connection headers."""

    status: int
    body: bytes = b""
    headers: tuple[tuple[str, str], ...] = ()


Handler = Callable[[Request], Awaitable[Response]]
"""Answers one request. An exception becomes a 500 (logged, never sent to the client)."""

ErrorRenderer = Callable[[int, str], Response]
"""Builds the response for an error the server itself detects (400, 413, 431, 500)."""


@dataclass(frozen=True, slots=True)
class HttpServerOptions:
    host: str = "0.0.0.0"
    port: int = 0  # 0: pick a free port (tests); `HttpServer.start()` returns the bound one
    max_body_bytes: int = 32 * 1024 * 1024
    max_header_bytes: int = 64 * 1024  # request line + all headers
    max_pipelined: int = 32  # queued requests per connection before reading is paused
    idle_timeout_s: float = 60.0  # close a connection with nothing in flight after this
    shutdown_timeout_s: float = 10.0  # `close()` waits this long for in-flight responses
    linger_s: float = 2.0  # after an early error reply, drain (and drop) input this long
    # Slow or stalled clients (slowloris): a request's line and headers must arrive within
    # `header_timeout_s` of its first byte (a new connection: of being accepted), its body within
    # `body_timeout_s` of its headers; else 408 and close (a silent close if nothing came).
    header_timeout_s: float = 10.0
    body_timeout_s: float = 60.0
    # Load shedding, answered with 503 and `retry-after: retry_after_s` then close: connections
    # beyond `max_connections`, and request bytes beyond `max_buffered_bytes` held by all
    # connections at once (requests being received or waiting for their handler).
    max_connections: int = 8192
    max_buffered_bytes: int = 256 * 1024 * 1024
    retry_after_s: int = 1
    backlog: int = 1024
    reuse_port: bool = False  # several processes accept on one port (SO_REUSEPORT)
    name: str = "http"  # used in log lines and task names


JSON_CONTENT_TYPE = ("content-type", "application/json")


def json_response(
    status: int, payload: object, headers: tuple[tuple[str, str], ...] = ()
) -> Response:
    return Response(status, orjson.dumps(payload), (JSON_CONTENT_TYPE, *headers))


def default_error_response(status: int, message: str) -> Response:
    return json_response(status, {"code": status, "message": message})


def _status_line(status: int) -> bytes:
    try:
        reason = HTTPStatus(status).phrase
    except ValueError:
        reason = {470: "Not Ready"}.get(status, "Unknown")
    return b"HTTP/1.1 %d %s\r\n" % (status, reason.encode("ascii"))


_STATUS_LINES: dict[int, bytes] = {s: _status_line(s) for s in (*map(int, HTTPStatus), 470)}
_NO_BODY_STATUSES = frozenset({204, 304})


def encode_response(response: Response, *, keep_alive: bool, head: bool, date: bytes) -> bytes:
    """Serialize `response`; a HEAD answer keeps its content-length but drops the body."""
    status = response.status
    line = _STATUS_LINES.get(status) or _status_line(status)
    body = response.body
    parts = [line, b"date: ", date, b"\r\n"]
    if status not in _NO_BODY_STATUSES:
        parts.append(b"content-length: %d\r\n" % len(body))
    for name, value in response.headers:
        parts.append(f"{name}: {value}\r\n".encode("latin-1", "replace"))
    if not keep_alive:
        parts.append(b"connection: close\r\n")
    parts.append(b"\r\n")
    if body and not head and status not in _NO_BODY_STATUSES:
        parts.append(body)
    return b"".join(parts)
