"""The fabric's transport over real sockets on 127.0.0.1."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator

import pytest

from node.fabric_wire import (
    DEAD_S,
    HEADER,
    OPEN_PREFACE,
    SEALED_PREFACE,
    MuxClient,
    MuxServer,
    Unavailable,
    UnknownMethod,
)

ECHO, SLOW, FAIL, BLOCK = 1, 2, 3, 4


class Service:
    def __init__(self) -> None:
        self.calls = 0
        self.blocked = asyncio.Event()
        self.cancelled = 0

    async def __call__(self, method: int, body: bytes) -> bytes:
        self.calls += 1
        if method == ECHO:
            return body
        if method == SLOW:
            await asyncio.sleep(float(body.decode()))
            return body
        if method == FAIL:
            raise RuntimeError("the log refused")
        if method == BLOCK:
            self.blocked.set()
            try:
                await asyncio.get_running_loop().create_future()
            except asyncio.CancelledError:
                self.cancelled += 1
                raise
        raise UnknownMethod(method)


@pytest.fixture
async def served() -> AsyncIterator[tuple[Service, MuxServer, MuxClient]]:
    service = Service()
    server = MuxServer(service, "127.0.0.1", 0, max_message_bytes=1024)
    port = await server.start()
    client = MuxClient("127.0.0.1", port, max_message_bytes=1024)
    try:
        yield service, server, client
    finally:
        await client.close()
        await server.close()


async def test_answers_match_their_requests_whatever_order_they_finish_in(
    served: tuple[Service, MuxServer, MuxClient],
) -> None:
    _, _, client = served
    delays = [b"0.05", b"0.01", b"0.03", b"0", b"0.02"]
    answers = await asyncio.gather(*(client.call(SLOW, d) for d in delays))
    assert answers == delays


async def test_a_burst_shares_one_connection(
    served: tuple[Service, MuxServer, MuxClient],
) -> None:
    service, server, client = served
    bodies = [str(i).encode() * (i % 50) for i in range(500)]
    assert await asyncio.gather(*(client.call(ECHO, b) for b in bodies)) == bodies
    assert service.calls == 500
    assert len(server._sides) == 1


async def test_a_failure_or_unknown_method_is_unavailable_and_the_connection_stays(
    served: tuple[Service, MuxServer, MuxClient],
) -> None:
    _, server, client = served
    with pytest.raises(Unavailable, match="the log refused"):
        await client.call(FAIL, b"")
    with pytest.raises(Unavailable, match="does not know method 99"):
        await client.call(99, b"")
    assert await client.call(ECHO, b"still") == b"still"
    assert len(server._sides) == 1


async def test_a_broken_connection_fails_its_waiters_and_the_next_call_reconnects(
    served: tuple[Service, MuxServer, MuxClient],
) -> None:
    service, server, client = served
    waiting = asyncio.ensure_future(client.call(BLOCK, b""))
    await asyncio.wait_for(service.blocked.wait(), 5)
    for side in list(server._sides):
        assert side.transport is not None
        side.transport.abort()
    with pytest.raises(Unavailable, match="connection lost"):
        await asyncio.wait_for(waiting, 5)
    assert await client.call(ECHO, b"again") == b"again"


async def test_no_server_is_unavailable() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    client = MuxClient("127.0.0.1", port)
    with pytest.raises(Unavailable):
        await client.call(ECHO, b"x")
    await client.close()


async def test_a_message_over_the_limit_closes_the_connection_not_the_server(
    served: tuple[Service, MuxServer, MuxClient],
) -> None:
    service, server, client = served
    with pytest.raises(ValueError, match="exceeds the limit"):
        await client.call(ECHO, b"x" * 2000)  # refused before it is sent
    reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
    writer.write(OPEN_PREFACE + HEADER.pack(5000, 1, ECHO) + b"x" * 100)
    assert await asyncio.wait_for(reader.read(), 5) == b""  # closed without an answer
    writer.close()
    assert service.calls == 0
    assert await client.call(ECHO, b"fine") == b"fine"


@pytest.mark.parametrize(
    "garbage",
    [b"GET / HTTP/1.1\r\nhost: x\r\n\r\n", b"PERDURE-FABRIC/2\n" + b"\0" * 13, b"\x16\x03\x01"],
)
async def test_anything_but_the_preface_is_cut_off_before_it_is_parsed(
    served: tuple[Service, MuxServer, MuxClient], garbage: bytes
) -> None:
    service, server, _ = served
    reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
    writer.write(garbage)
    assert await asyncio.wait_for(reader.read(), 5) == b""
    writer.close()
    assert service.calls == 0


async def test_close_cancels_running_requests_and_their_callers_get_unavailable() -> None:
    service = Service()
    server = MuxServer(service, "127.0.0.1", 0)
    client = MuxClient("127.0.0.1", await server.start())
    waiting = asyncio.ensure_future(client.call(BLOCK, b""))
    await asyncio.wait_for(service.blocked.wait(), 5)
    await server.close()
    assert service.cancelled == 1
    with pytest.raises(Unavailable):
        await asyncio.wait_for(waiting, 5)
    await client.close()


async def test_a_cancelled_caller_leaves_no_waiter_behind(
    served: tuple[Service, MuxServer, MuxClient],
) -> None:
    service, _, client = served
    waiting = asyncio.ensure_future(client.call(BLOCK, b""))
    await asyncio.wait_for(service.blocked.wait(), 5)
    waiting.cancel()
    with pytest.raises(asyncio.CancelledError):
        await waiting
    side = client._side
    assert side is not None and side.pending == {}
    assert await client.call(ECHO, b"next") == b"next"


SECRET = b"the cluster secret"


async def test_peers_holding_the_secret_talk_and_others_are_cut_off_unheard() -> None:
    service = Service()
    server = MuxServer(service, "127.0.0.1", 0, secret=SECRET)
    port = await server.start()
    good = MuxClient("127.0.0.1", port, secret=SECRET)
    wrong = MuxClient("127.0.0.1", port, secret=b"a guess")
    open_ = MuxClient("127.0.0.1", port)
    try:
        assert await good.call(ECHO, b"sealed") == b"sealed"
        with pytest.raises(Unavailable):
            await wrong.call(ECHO, b"x")
        with pytest.raises(Unavailable):
            await open_.call(ECHO, b"x")
        # A raw client that skips the proof: its request bytes are never parsed.
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(SEALED_PREFACE + b"n" * 16 + b"m" * 32 + HEADER.pack(1, 1, ECHO) + b"x")
        answer = await asyncio.wait_for(reader.read(), 5)
        assert len(answer) == 48  # the server's nonce and proof, then the close
        writer.close()
        assert service.calls == 1
        assert await good.call(ECHO, b"again") == b"again"
    finally:
        for client in (good, wrong, open_):
            await client.close()
        await server.close()


async def test_a_client_with_a_secret_refuses_a_server_without_it() -> None:
    service = Service()
    server = MuxServer(service, "127.0.0.1", 0)
    client = MuxClient("127.0.0.1", await server.start(), secret=SECRET)
    try:
        with pytest.raises(Unavailable):
            await client.call(ECHO, b"x")
        assert service.calls == 0
    finally:
        await client.close()
        await server.close()


async def test_a_long_request_survives_silence_thanks_to_pings(
    served: tuple[Service, MuxServer, MuxClient],
) -> None:
    _, _, client = served
    assert await client.call(SLOW, str(DEAD_S * 1.6).encode()) == str(DEAD_S * 1.6).encode()


async def test_a_peer_that_goes_silent_is_given_up_and_its_waiters_fail() -> None:
    """A server that completes the handshake and then never sends a byte (a network cut:
    no FIN, no RST) fails the waiting call within DEAD_S and a ping period."""
    accepted: list[asyncio.StreamWriter] = []

    async def black_hole(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        accepted.append(writer)
        await reader.read(len(OPEN_PREFACE))  # then reads on, answering nothing

    server = await asyncio.start_server(black_hole, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    client = MuxClient("127.0.0.1", port)
    t0 = asyncio.get_running_loop().time()
    with pytest.raises(Unavailable, match="connection lost"):
        await asyncio.wait_for(client.call(ECHO, b"x"), DEAD_S * 4)
    assert asyncio.get_running_loop().time() - t0 < DEAD_S * 2
    await client.close()
    for writer in accepted:
        writer.close()
    server.close()
    await server.wait_closed()
