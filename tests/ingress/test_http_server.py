"""The HTTP/1.1 server: framing, pipelining, limits, errors and shutdown over real sockets."""

from __future__ import annotations

import asyncio
import random
from collections.abc import AsyncIterator, Awaitable

import httpx
import orjson
import pytest

from ingress.http import HttpServer, HttpServerOptions, Request, Response
from tests.ingress.rawhttp import closed_by_peer, connect, read_response


async def echo(request: Request) -> Response:
    if request.path == "/boom":
        raise RuntimeError("secret internals")
    if request.path.startswith("/sleep/"):
        await asyncio.sleep(float(request.path.rsplit("/", 1)[1]))
    headers: tuple[tuple[str, str], ...] = (("x-method", request.method), ("x-path", request.path))
    if request.query:
        headers += (("x-query", orjson.dumps(dict(request.query)).decode()),)
    return Response(200, request.body or request.path.encode(), headers)


@pytest.fixture
async def server() -> AsyncIterator[HttpServer]:
    srv = HttpServer(echo, HttpServerOptions(host="127.0.0.1", max_header_bytes=8 * 1024))
    await srv.start()
    yield srv
    await srv.close()


def url(server: HttpServer, path: str) -> str:
    return f"http://127.0.0.1:{server.port}{path}"


async def test_start_returns_the_bound_port(server: HttpServer) -> None:
    assert server.port > 0
    async with httpx.AsyncClient() as client:
        response = await client.get(url(server, "/hello?a=1&b=x%20y"))
    assert response.status_code == 200
    assert response.text == "/hello"
    assert orjson.loads(response.headers["x-query"]) == {"a": "1", "b": "x y"}
    assert "date" in response.headers


async def test_keep_alive_serves_several_requests_on_one_connection(server: HttpServer) -> None:
    reader, writer = await connect(server.port)
    for i in range(3):
        writer.write(f"GET /r{i} HTTP/1.1\r\nHost: x\r\n\r\n".encode())
        response = await read_response(reader)
        assert response.status == 200
        assert response.body == f"/r{i}".encode()
        assert "connection" not in response.headers
    writer.close()


async def test_pipelined_requests_are_answered_in_order(server: HttpServer) -> None:
    reader, writer = await connect(server.port)
    # The first request is the slowest: its answer must still come first.
    paths = ["/sleep/0.3", "/sleep/0.1", "/fast", "/sleep/0.05"]
    writer.write(b"".join(f"GET {p} HTTP/1.1\r\nHost: x\r\n\r\n".encode() for p in paths))
    bodies = [(await read_response(reader)).body for _ in paths]
    assert bodies == [p.encode() for p in paths]
    writer.close()


async def test_chunked_request_body_is_reassembled(server: HttpServer) -> None:
    reader, writer = await connect(server.port)
    writer.write(
        b"POST /c HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
        b"5\r\nhello\r\n1\r\n \r\n5\r\nworld\r\n0\r\n\r\n"
    )
    response = await read_response(reader)
    assert response.body == b"hello world"
    writer.close()


async def test_body_over_limit_is_refused_and_server_keeps_serving(server: HttpServer) -> None:
    async with httpx.AsyncClient(timeout=30) as client:
        response = await client.post(url(server, "/big"), content=b"x" * (33 * 1024 * 1024))
        assert response.status_code == 413
        assert response.headers["content-type"] == "application/json"
        assert "limit" in response.json()["message"]
        again = await client.post(url(server, "/small"), content=b"ok")
    assert again.status_code == 200
    assert again.text == "ok"


async def test_declared_length_over_limit_is_refused_before_the_body_is_sent(
    server: HttpServer,
) -> None:
    reader, writer = await connect(server.port)
    writer.write(b"POST /big HTTP/1.1\r\nHost: x\r\nContent-Length: 40000000\r\n\r\n")
    response = await read_response(reader)
    assert response.status == 413
    assert response.headers["connection"] == "close"
    writer.close()


async def test_chunked_body_over_limit_is_refused() -> None:
    srv = HttpServer(echo, HttpServerOptions(host="127.0.0.1", max_body_bytes=100))
    await srv.start()
    try:
        reader, writer = await connect(srv.port)
        chunk = b"40\r\n" + b"y" * 64 + b"\r\n"
        writer.write(b"POST /c HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n" + chunk)
        writer.write(chunk)
        response = await read_response(reader)
        assert response.status == 413
        writer.close()
    finally:
        await srv.close()


async def test_malformed_request_gets_400_and_the_server_keeps_serving(
    server: HttpServer,
) -> None:
    reader, writer = await connect(server.port)
    writer.write(b"NOT HTTP AT ALL\r\n\r\n")
    response = await read_response(reader)
    assert response.status == 400
    assert orjson.loads(response.body)["code"] == 400
    assert await closed_by_peer(reader)
    writer.close()
    async with httpx.AsyncClient() as client:
        assert (await client.get(url(server, "/still-here"))).status_code == 200


@pytest.mark.parametrize(
    "garbage",
    [
        bytes(random.Random(seed).randrange(256) for _ in range(size))
        for seed, size in ((1, 50), (2, 300), (3, 5000))
    ]
    + [b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03", b"\x00\x01\x02", b"hello"],
)
async def test_random_bytes_get_400_then_close(server: HttpServer, garbage: bytes) -> None:
    # Issue 11: random bytes on the ingress port had the connection closed with no answer.
    reader, writer = await connect(server.port)
    writer.write(garbage)
    response = await read_response(reader)
    assert response.status == 400
    assert b"Traceback" not in response.body
    assert await closed_by_peer(reader)
    writer.close()


@pytest.mark.parametrize("start", [b"L", b"GET /x HTTP/1.1\r\nHost", b"POST / HTTP/1.1\r\n"])
async def test_request_cut_short_by_the_client_gets_400_then_close(
    server: HttpServer, start: bytes
) -> None:
    # Bytes that may begin a request, then end of input: the request will never be complete.
    reader, writer = await connect(server.port)
    writer.write(start)
    writer.write_eof()
    response = await read_response(reader)
    assert response.status == 400
    assert "incomplete" in orjson.loads(response.body)["message"]
    assert await closed_by_peer(reader)
    writer.close()


async def test_oversized_headers_get_431(server: HttpServer) -> None:
    reader, writer = await connect(server.port)
    writer.write(b"GET / HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 9000 + b"\r\n\r\n")
    response = await read_response(reader)
    assert response.status == 431
    writer.close()


async def test_handler_exception_is_a_500_json_without_traceback(server: HttpServer) -> None:
    async with httpx.AsyncClient() as client:
        response = await client.get(url(server, "/boom"))
        assert response.status_code == 500
        body = response.json()
        assert body["code"] == 500
        assert "secret" not in response.text
        assert "Traceback" not in response.text
        assert (await client.get(url(server, "/after"))).status_code == 200


async def test_connection_close_ends_the_connection_after_its_response(
    server: HttpServer,
) -> None:
    reader, writer = await connect(server.port)
    writer.write(
        b"GET /a HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
        b"GET /ignored HTTP/1.1\r\nHost: x\r\n\r\n"
    )
    response = await read_response(reader)
    assert response.body == b"/a"
    assert response.headers["connection"] == "close"
    assert await closed_by_peer(reader)
    writer.close()


async def test_head_response_has_length_but_no_body(server: HttpServer) -> None:
    reader, writer = await connect(server.port)
    writer.write(b"HEAD /abc HTTP/1.1\r\nHost: x\r\n\r\nGET /next HTTP/1.1\r\nHost: x\r\n\r\n")
    head = await read_response(reader, head=True)
    assert head.status == 200
    assert head.headers["content-length"] == "4"
    following = await read_response(reader)
    assert following.body == b"/next"  # nothing of the HEAD body leaked in between
    writer.close()


async def test_expect_continue_gets_an_interim_response(server: HttpServer) -> None:
    reader, writer = await connect(server.port)
    writer.write(
        b"POST /e HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\n"
    )
    interim = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 5)
    assert interim.startswith(b"HTTP/1.1 100 Continue")
    writer.write(b"hello")
    response = await read_response(reader)
    assert response.body == b"hello"
    writer.close()


async def within(awaitable: Awaitable[object], timeout: float, what: str) -> None:
    try:
        await asyncio.wait_for(awaitable, timeout)
    except TimeoutError:
        raise AssertionError(f"timed out after {timeout} s waiting for {what}") from None


async def refused(port: int, timeout: float = 5) -> None:
    """Return once connecting to `port` is refused (the listener is closed)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while loop.time() < deadline:
        try:
            _reader, writer = await connect(port)
        except OSError:
            return
        writer.close()
        await asyncio.sleep(0.01)
    raise AssertionError(f"port {port} still accepts connections after {timeout} s")


async def test_close_finishes_in_flight_responses_and_stops_accepting() -> None:
    started, release = asyncio.Event(), asyncio.Event()

    async def held(request: Request) -> Response:
        started.set()
        await release.wait()
        return Response(200, b"finished", ())

    srv = HttpServer(held, HttpServerOptions(host="127.0.0.1"))
    port = await srv.start()
    reader, writer = await connect(port)
    writer.write(b"GET /held HTTP/1.1\r\nHost: x\r\n\r\n")
    await within(started.wait(), 5, "the handler to start")
    closing = asyncio.create_task(srv.close())
    await refused(port)
    assert not closing.done(), "close() returned while a response was still in flight"
    release.set()
    response = await read_response(reader)
    assert (response.status, response.body) == (200, b"finished")
    assert response.headers["connection"] == "close"
    await within(closing, 5, "close() to finish once the in-flight response was sent")
    with pytest.raises(OSError):
        await connect(port)
    writer.close()


async def test_idle_connection_is_closed_after_the_idle_timeout() -> None:
    srv = HttpServer(echo, HttpServerOptions(host="127.0.0.1", idle_timeout_s=0.2))
    port = await srv.start()
    try:
        reader, writer = await connect(port)
        writer.write(b"GET /x HTTP/1.1\r\nHost: x\r\n\r\n")
        assert (await read_response(reader)).status == 200
        assert await closed_by_peer(reader)
        writer.close()
    finally:
        await srv.close()
