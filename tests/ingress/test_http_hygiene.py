"""Connection hygiene of the HTTP server (issue 11): slow or stalled clients are timed out with
408, and connections or buffered request bytes beyond their caps are shed with 503 and
`retry-after`, while the server keeps serving everyone else."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
import orjson

from ingress.http import HttpServer, HttpServerOptions, Request, Response
from tests.ingress.rawhttp import closed_by_peer, connect, read_response

_release: list[asyncio.Event] = []  # the current test's (an event belongs to one loop)


async def echo(request: Request) -> Response:
    if request.path == "/hold":
        await _release[-1].wait()
    return Response(200, request.body or b"ok")


@asynccontextmanager
async def serving(**options: Any) -> AsyncIterator[HttpServer]:
    server = HttpServer(echo, HttpServerOptions(host="127.0.0.1", linger_s=0.2, **options))
    await server.start()
    try:
        yield server
    finally:
        await server.close()


async def still_serving(server: HttpServer) -> None:
    async with httpx.AsyncClient() as client:
        response = await client.post(f"http://127.0.0.1:{server.port}/x", content=b"alive")
    assert (response.status_code, response.content) == (200, b"alive")


async def timed(awaitable: object, at_most: float) -> float:
    loop = asyncio.get_running_loop()
    t0 = loop.time()
    await asyncio.wait_for(awaitable, at_most)  # type: ignore[arg-type]
    return loop.time() - t0


async def test_half_sent_headers_get_408_then_close_after_the_header_timeout() -> None:
    async with serving(header_timeout_s=0.4) as server:
        reader, writer = await connect(server.port)
        writer.write(b"GET /x HTTP/1.1\r\nHost: x\r\nX-Slow: a")  # slowloris: never ends
        response = await asyncio.wait_for(read_response(reader), 5)
        assert response.status == 408
        assert "headers" in orjson.loads(response.body)["message"]
        assert await closed_by_peer(reader)
        writer.close()
        await still_serving(server)


async def test_dripping_headers_do_not_extend_the_header_timeout() -> None:
    async with serving(header_timeout_s=0.5) as server:
        reader, writer = await connect(server.port)
        writer.write(b"GET /x HTTP/1.1\r\n")

        async def drip() -> None:
            for i in range(100):
                writer.write(b"X-%d: a\r\n" % i)  # a byte now and then keeps it "active"
                await asyncio.sleep(0.05)

        dripping = asyncio.create_task(drip())
        try:
            response = await asyncio.wait_for(read_response(reader), 5)
        finally:
            dripping.cancel()
        assert response.status == 408
        writer.close()


async def test_half_sent_body_gets_408_after_the_body_timeout() -> None:
    async with serving(body_timeout_s=0.4) as server:
        reader, writer = await connect(server.port)
        writer.write(b"POST /x HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\nonly part")
        response = await asyncio.wait_for(read_response(reader), 5)
        assert response.status == 408
        assert "body" in orjson.loads(response.body)["message"]
        assert await closed_by_peer(reader)
        writer.close()
        assert server.buffered_bytes == 0  # what the abandoned request held is released


async def test_connection_that_sends_nothing_is_closed_after_the_header_timeout() -> None:
    async with serving(header_timeout_s=0.3) as server:
        reader, writer = await connect(server.port)
        assert await asyncio.wait_for(reader.read(), 5) == b""  # closed, nothing to answer
        writer.close()


async def test_a_connection_beyond_the_cap_gets_503_with_retry_after() -> None:
    async with serving(max_connections=3) as server:
        held = [await connect(server.port) for _ in range(3)]
        await asyncio.sleep(0.05)  # let the server accept them
        reader, writer = await connect(server.port)
        response = await read_response(reader)
        assert response.status == 503
        assert response.headers["retry-after"] == "1"
        assert "too many connections" in orjson.loads(response.body)["message"]
        assert await closed_by_peer(reader)
        writer.close()
        for _, w in held:
            w.close()
        await asyncio.sleep(0.05)
        await still_serving(server)  # below the cap again


async def test_request_bytes_beyond_the_buffer_cap_get_503_and_are_released() -> None:
    release = asyncio.Event()
    _release.append(release)
    async with serving(max_buffered_bytes=64 * 1024) as server:
        # One request waits in its handler, holding its 40 kB; a second one would pass the cap.
        r1, w1 = await connect(server.port)
        w1.write(b"POST /hold HTTP/1.1\r\nHost: x\r\nContent-Length: 40000\r\n\r\n" + b"a" * 40000)
        await asyncio.sleep(0.1)
        assert server.buffered_bytes > 40000
        r2, w2 = await connect(server.port)
        w2.write(b"POST /x HTTP/1.1\r\nHost: x\r\nContent-Length: 40000\r\n\r\n" + b"b" * 40000)
        response = await read_response(r2)
        assert response.status == 503
        assert response.headers["retry-after"] == "1"
        assert "too many request bytes" in orjson.loads(response.body)["message"]
        w2.close()
        release.set()  # the held request is answered: its bytes are released
        assert (await read_response(r1)).status == 200
        await asyncio.wait_for(_released(server), 5)
        w1.close()
        await still_serving(server)


async def _released(server: HttpServer) -> None:
    while server.buffered_bytes:
        await asyncio.sleep(0.01)


async def test_completed_requests_release_what_they_held() -> None:
    async with serving() as server:
        for _ in range(3):
            await still_serving(server)
        assert server.buffered_bytes == 0
