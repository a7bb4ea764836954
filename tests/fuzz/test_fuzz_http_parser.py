"""A structure-aware raw-socket fuzzer of the HTTP/1.1 parser over a real node (issue 11).

Each case is a connection's worth of bytes built from parts that stress the framing: lying,
missing, duplicated or malformed content-length, chunked bodies (valid, malformed, unfinished),
huge request lines and headers, deeply nested JSON, random bytes, pipelined requests, requests
cut short (the client ends them, or just stops sending until the node's header or body timeout).
Whatever comes, every answer is an HTTP response below 500 without a traceback, the node closes
the connection (it never hangs on a client), logs no traceback, keeps serving, and the
acknowledged counter keeps its value."""

from __future__ import annotations

import json
import random
from collections import Counter
from collections.abc import Callable

from tests.fuzz.budget import random_rounds
from tests.fuzz.conftest import FuzzNode
from tests.fuzz.rawclient import exchange

CASES_PER_SEED = 12

_PATHS = ["/Greeter/greet", "/restate/health", "/Counter/fuzz/add", "/Counter/fuzz/get", "/x"]


def _head(rnd: random.Random, method: str, path: str, headers: list[str]) -> bytes:
    version = rnd.choice(["HTTP/1.1"] * 8 + ["HTTP/1.0", "HTTP/2.0", "HTTP/0.9", "HTTP/1.1x"])
    eol = "\r\n" if rnd.random() < 0.9 else "\n"
    lines = [f"{method} {path} {version}", "host: fuzz", *headers]
    return (eol.join(lines) + eol + eol).encode("latin-1")


def _json_body(rnd: random.Random) -> bytes:
    choice = rnd.randrange(4)
    if choice == 0:
        depth = rnd.choice([100, 1025, 50_000])
        return b"[" * depth + b"]" * depth
    if choice == 1:
        return json.dumps(rnd.choice(["World", 5, -1, 10**30, [1], {"a": None}])).encode()
    if choice == 2:
        return b'"' + b"a" * rnd.choice([10, 70_000]) + b'"'
    return rnd.randbytes(rnd.randrange(1, 40))


def well_formed(rnd: random.Random) -> bytes:
    body = _json_body(rnd)
    headers = ["content-type: application/json", f"content-length: {len(body)}"]
    return _head(rnd, rnd.choice(["POST", "GET"]), rnd.choice(_PATHS), headers) + body


def lying_length(rnd: random.Random) -> bytes:
    body = _json_body(rnd)
    declared = rnd.choice(
        [str(len(body) + rnd.randrange(1, 100)), str(max(0, len(body) - 3)), "-1", "abc", "",
         "1e3", "0x10", "99999999999999999999999", f"{len(body)}, {len(body) + 1}", " 5 "]
    )  # fmt: skip
    headers = ["content-type: application/json", f"content-length: {declared}"]
    if rnd.random() < 0.3:
        headers.append(f"content-length: {len(body)}")
    return _head(rnd, "POST", rnd.choice(_PATHS), headers) + body


def missing_length(rnd: random.Random) -> bytes:
    return _head(rnd, "POST", rnd.choice(_PATHS), ["content-type: application/json"]) + (
        _json_body(rnd)
    )


def chunked(rnd: random.Random) -> bytes:
    body = _json_body(rnd)
    chunks = bytearray()
    pos = 0
    while pos < len(body):
        n = rnd.randrange(1, 20)
        size = (
            f"{n:x}" if rnd.random() < 0.9 else rnd.choice(["zz", "-1", "ffffffffffffffffff", ""])
        )
        ext = rnd.choice(["", "", ";name=value", ";" + "x" * 5000])
        chunks += f"{size}{ext}\r\n".encode() + body[pos : pos + n] + b"\r\n"
        pos += n
    ending = rnd.choice([b"0\r\n\r\n", b"0\r\n\r\n", b"0\r\ntrailer: x\r\n\r\n", b"", b"0\r\n"])
    headers = ["content-type: application/json", "transfer-encoding: chunked"]
    if rnd.random() < 0.2:
        headers.append("content-length: 3")  # both: a smuggling attempt
    if rnd.random() < 0.1:
        headers[-1] = "transfer-encoding: gzip, chunked"
    return _head(rnd, "POST", rnd.choice(_PATHS), headers) + bytes(chunks) + ending


def huge_head(rnd: random.Random) -> bytes:
    kind = rnd.randrange(3)
    if kind == 0:
        return _head(rnd, "GET", "/" + "a" * rnd.choice([5000, 70_000]), [])
    if kind == 1:
        headers = [f"x-h{i}: {'v' * 100}" for i in range(rnd.choice([10, 700]))]
        return _head(rnd, "GET", "/restate/health", headers)
    return _head(rnd, "GET", "/restate/health", ["x-big: " + "v" * rnd.choice([1000, 70_000])])


def odd_request_line(rnd: random.Random) -> bytes:
    return rnd.choice(
        [
            b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n",
            b"CONNECT 127.0.0.1:1 HTTP/1.1\r\nhost: x\r\n\r\n",
            b"GET http://evil/restate/health HTTP/1.1\r\nhost: x\r\n\r\n",
            b"GET /restate/health HTTP/1.1\r\nhost: x\r\nupgrade: websocket\r\n"
            b"connection: upgrade\r\n\r\n",
            b"GET /restate/health HTTP/1.1\r\nbad header\r\n\r\n",
            b"GET /restate/health HTTP/1.1\r\nx: a\x00b\r\n\r\n",
            b"GET /restate/health HTTP/1.1\r\nx: a\r\n folded\r\n\r\n",
            b"GET /restate/health HTTP/1.1\r\nx : a\r\n\r\n",
            b"GET /\x7f HTTP/1.1\r\n\r\n",
            b"G\xc3\xa9T / HTTP/1.1\r\n\r\n",
            b"POST /Greeter/greet HTTP/1.1\r\nexpect: 100-continue\r\ncontent-length: 7\r\n"
            b'content-type: application/json\r\n\r\n"hello"',
            b"\r\n\r\nGET /restate/health HTTP/1.1\r\n\r\n",
            b"GET /restate/health?"
            + b"&".join(b"a=%d" % i for i in range(3000))
            + b" HTTP/1.1\r\n\r\n",
        ]
    )


def random_bytes(rnd: random.Random) -> bytes:
    return rnd.randbytes(rnd.choice([1, 16, 300, 5000]))


_MAKERS: list[Callable[[random.Random], bytes]] = [
    well_formed,
    lying_length,
    missing_length,
    chunked,
    huge_head,
    odd_request_line,
    random_bytes,
]


def one_case(rnd: random.Random) -> tuple[bytes, bool]:
    """The bytes of a connection, and whether the client ends its side after them."""
    if rnd.random() < 0.04:
        # The client sends part of a request and stalls: only the node's timeouts end it.
        request = well_formed(rnd)
        return request[: rnd.randrange(1, len(request))], False
    parts = [rnd.choice(_MAKERS)(rnd) for _ in range(rnd.choice([1, 1, 1, 2, 3]))]
    data = b"".join(parts)
    if rnd.random() < 0.25:
        data = data[: rnd.randrange(1, len(data) + 1)]  # cut short
    return data, True


_SEEN: Counter[int] = Counter()


def fuzz_seed(port: int, seed: int) -> None:
    rnd = random.Random(seed)
    for _ in range(CASES_PER_SEED):
        data, half_close = one_case(rnd)
        result = exchange(port, data, half_close=half_close)
        where = f"case {data[:300]!r} ({len(data)} bytes, half_close={half_close})"
        assert result.closed, f"the node did not close the connection: {where}"
        for answer in result.answers:
            assert answer.status < 500, (answer.status, answer.body[:300], where)
            assert b"Traceback" not in answer.body, where
            _SEEN[answer.status] += 1
        if data.strip(b"\r\n"):
            assert result.answers, f"no answer at all: {where}"


def test_hostile_bytes_never_get_a_5xx_or_a_hang(node: FuzzNode) -> None:
    random_rounds(lambda seed: fuzz_seed(node.ingress_port, seed))
    print("http parser fuzz statuses:", dict(sorted(_SEEN.items())))
    assert {200, 400} <= set(_SEEN), _SEEN
