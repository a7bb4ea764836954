"""Blocking raw-socket HTTP/1.1 exchanges for the fuzzers: send any bytes, read every response
the server writes until it closes."""

from __future__ import annotations

import socket
from dataclasses import dataclass

READ_TIMEOUT_S = 5.0


@dataclass(frozen=True, slots=True)
class Answer:
    status: int
    headers: dict[str, str]
    body: bytes


@dataclass(frozen=True, slots=True)
class Exchange:
    answers: list[Answer]
    closed: bool  # the server closed the connection (it did not time out on us)
    raw: bytes


def exchange(port: int, data: bytes, *, half_close: bool = True, head: bool = False) -> Exchange:
    """Send `data`, end our side (unless `half_close` is False: then the server must close on
    its own, e.g. after a timeout), and collect what comes back until the server closes.
    `head`: the requests were HEAD requests (their answers have no body)."""
    with socket.create_connection(("127.0.0.1", port), timeout=READ_TIMEOUT_S) as sock:
        try:
            sock.sendall(data)
            if half_close:
                sock.shutdown(socket.SHUT_WR)
        except OSError:
            pass  # the server answered and closed before taking everything: read what it said
        received = bytearray()
        closed = False
        while True:
            try:
                chunk = sock.recv(65536)
            except TimeoutError:
                break
            except ConnectionResetError:
                closed = True
                break
            if not chunk:
                closed = True
                break
            received += chunk
    return Exchange(parse_answers(bytes(received), head=head), closed, bytes(received))


def parse_answers(raw: bytes, *, head: bool = False) -> list[Answer]:
    answers: list[Answer] = []
    rest = raw
    while rest:
        top, sep, rest = rest.partition(b"\r\n\r\n")
        if not sep:
            raise AssertionError(f"a truncated response head from the server: {top[:200]!r}")
        lines = top.decode("latin-1").split("\r\n")
        parts = lines[0].split(" ", 2)
        if len(parts) < 2 or not parts[0].startswith("HTTP/1.") or not parts[1].isdigit():
            raise AssertionError(f"not an HTTP status line: {lines[0]!r}")
        headers: dict[str, str] = {}
        for line in lines[1:]:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
        status = int(parts[1])
        length = int(headers.get("content-length", "0")) if not head or status >= 400 else 0
        body, rest = rest[:length], rest[length:]
        if 100 <= status < 200:
            continue
        answers.append(Answer(status, headers, body))
    return answers
