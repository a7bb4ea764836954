"""The fabric's transport: numbered requests multiplexed over one TCP connection per peer.

Every message is a 13-byte header (`>IQB`: body length, request number, method or status) and
its body. A client numbers its requests and matches answers by number, so any number of requests
share one connection and answers come back in whatever order they finish. Both sides gather the
messages produced in one event-loop turn and write them with one call, so a burst of forwarded
requests costs one send and one receive instead of one HTTP exchange each.

    server = MuxServer(serve, host="127.0.0.1", port=5300)   # serve(method, body) -> body
    await server.start()
    client = MuxClient("127.0.0.1", 5300)
    body = await client.call(METHOD, b"...")                  # raises Unavailable
    await client.close(); await server.close()

A connection opens with a preface so that anything else (an HTTP client, a port scanner) is cut
off before a byte of it is parsed as a request. With a cluster secret (`secret=`), both sides
then prove they hold it (HMAC-SHA256 over both sides' random nonces, compared in constant time)
before any request is read: a peer without it is disconnected having sent nothing that was
parsed. Messages are authenticated per connection, not encrypted. While a client awaits answers
and hears nothing, it pings (request number 0, answered by the server's transport at once) and
gives the connection up after `DEAD_S` of silence: a peer cut off by the network sends no FIN,
and a request forwarded to it must not wait forever. Guarantees: a request is sent at
most once; when its connection breaks before the answer, the caller gets `Unavailable` (the
request may or may not have been carried out). A message larger than `max_message_bytes` closes
the connection. The server runs each request as a task it owns; `close()` cancels the ones still
running and waits for them.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import logging
import os
import struct
from collections.abc import Awaitable, Callable
from typing import cast

log = logging.getLogger(__name__)

OPEN_PREFACE = b"PERDURE-FABRIC/1 open\n"
SEALED_PREFACE = b"PERDURE-FABRIC/1 hmac\n"
NONCE_BYTES = 16
MAC_BYTES = 32
HEADER = struct.Struct(">IQB")
DEFAULT_MAX_MESSAGE_BYTES = 64 * 1024 * 1024
HANDSHAKE_TIMEOUT_S = 5.0
CONNECT_TIMEOUT_S = 1.0
PING = 0  # request number 0: answered by the transport itself, never by `serve`
PING_S = 0.3  # while answers are awaited and the peer has been silent this long, ping it
DEAD_S = 1.5  # ... and after this long without a byte from it, give the connection up

OK = 0
UNAVAILABLE = 1  # the server could not carry it out (its log refused, it is stopping, ...)
UNKNOWN_METHOD = 2

Serve = Callable[[int, bytes], Awaitable[bytes]]


class Unavailable(Exception):
    """The peer could not be reached, could not carry the request out, or the answer was lost."""


class ProtocolError(Exception):
    """The peer sent something that is not the fabric's wire format."""


class UnknownMethod(Exception):
    """Raised by a `Serve` function for a method it does not know."""


class _Framed(asyncio.Protocol):
    """Reads headers and bodies; writes the messages of one loop turn in one call."""

    def __init__(self, max_message_bytes: int, secret: bytes | None) -> None:
        self._max = max_message_bytes
        self._buffer = bytearray()
        self._out: list[bytes] = []
        self._key = None if secret is None else _key(secret)
        self.ready = False  # the handshake is done: messages may flow
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)  # uvloop's is not a subclass

    def send(self, number: int, code: int, body: bytes) -> None:
        if self.transport is None or self.transport.is_closing():
            return
        if not self._out:
            asyncio.get_running_loop().call_soon(self._flush)
        self._out.append(HEADER.pack(len(body), number, code))
        self._out.append(body)

    def _flush(self) -> None:
        out, self._out = self._out, []
        if out and self.transport is not None and not self.transport.is_closing():
            self.transport.write(b"".join(out))

    def data_received(self, data: bytes) -> None:
        buffer = self._buffer
        buffer += data
        if not self.ready:
            try:
                self.shake(buffer)
            except ProtocolError as exc:
                self._fail(exc)
                return
            if not self.ready:
                return
        at, size = 0, HEADER.size
        while len(buffer) - at >= size:
            length, number, code = HEADER.unpack_from(buffer, at)
            if length > self._max:
                self._fail(ProtocolError(f"a message of {length} bytes (limit {self._max})"))
                return
            end = at + size + length
            if len(buffer) < end:
                break
            self.received(number, code, bytes(buffer[at + size : end]))
            at = end
        if at:
            del buffer[:at]

    def _fail(self, error: Exception) -> None:
        log.warning("fabric connection closed: %s", error)
        self._buffer.clear()
        if self.transport is not None:
            self.transport.abort()

    def _mac(self, role: bytes, *nonces: bytes) -> bytes:
        assert self._key is not None
        return hmac.new(self._key, role + b"".join(nonces), hashlib.sha256).digest()

    def _check(self, mac: bytes, role: bytes, *nonces: bytes) -> None:
        if not hmac.compare_digest(mac, self._mac(role, *nonces)):
            raise ProtocolError("the peer does not hold the cluster secret")

    def shake(self, buffer: bytearray) -> None:
        """Consume handshake bytes from `buffer`; set `ready` when done, raise ProtocolError
        when the peer is not one of ours."""
        raise NotImplementedError

    def received(self, number: int, code: int, body: bytes) -> None:
        raise NotImplementedError


def _key(secret: bytes) -> bytes:
    if not secret:
        raise ValueError("the cluster secret is empty")
    return hmac.new(secret, b"perdure fabric v1", hashlib.sha256).digest()


# ---------------------------------------------------------------------------------- client


class _ClientSide(_Framed):
    def __init__(self, client: MuxClient) -> None:
        super().__init__(client.max_message_bytes, client.secret)
        self._client = client
        self.pending: dict[int, asyncio.Future[tuple[int, bytes]]] = {}
        self.lost = False
        self.shaken: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._nonce = os.urandom(NONCE_BYTES)
        self._heard = 0.0  # loop time of the last byte from the peer
        self._watch: asyncio.TimerHandle | None = None

    def data_received(self, data: bytes) -> None:
        self._heard = asyncio.get_running_loop().time()
        super().data_received(data)

    def awaiting(self) -> None:
        """An answer is awaited: make sure the peer's silence is watched (counted from now
        when nothing was awaited before)."""
        if self._watch is None:
            self._heard = max(self._heard, asyncio.get_running_loop().time())
            self._arm()

    def _arm(self) -> None:
        self._watch = asyncio.get_running_loop().call_later(PING_S, self._check_silence)

    def _check_silence(self) -> None:
        """A peer cut off by the network sends no FIN: without this, a request forwarded to it
        would wait forever. Pinged when silent, it is given up after DEAD_S."""
        self._watch = None
        if not self.pending or self.lost or self.transport is None:
            return
        silent = asyncio.get_running_loop().time() - self._heard
        if silent >= DEAD_S:
            self._fail(ProtocolError(f"{self._client} silent for {silent:.1f} s"))
            return
        if silent >= PING_S:
            self.send(PING, PING, b"")
        self._arm()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        super().connection_made(transport)
        assert self.transport is not None
        if self._key is None:
            self.transport.write(OPEN_PREFACE)
            self._shaken()
        else:
            self.transport.write(SEALED_PREFACE + self._nonce)

    def shake(self, buffer: bytearray) -> None:
        # The server's nonce and its proof: HMAC("server", our nonce, its nonce).
        if len(buffer) < NONCE_BYTES + MAC_BYTES:
            return
        theirs, mac = (
            bytes(buffer[:NONCE_BYTES]),
            bytes(buffer[NONCE_BYTES : NONCE_BYTES + MAC_BYTES]),
        )
        del buffer[: NONCE_BYTES + MAC_BYTES]
        self._check(mac, b"server", self._nonce, theirs)
        assert self.transport is not None
        self.transport.write(self._mac(b"client", theirs, self._nonce))
        self._shaken()

    def _shaken(self) -> None:
        self.ready = True
        if not self.shaken.done():
            self.shaken.set_result(None)

    def received(self, number: int, code: int, body: bytes) -> None:
        waiter = self.pending.pop(number, None)
        if waiter is not None and not waiter.done():
            waiter.set_result((code, body))

    def connection_lost(self, exc: Exception | None) -> None:
        self.lost = True
        if self._watch is not None:
            self._watch.cancel()
            self._watch = None
        if not self.shaken.done():
            self.shaken.set_exception(Unavailable(f"{self._client}: closed during the handshake"))
        self._client.lost(self)
        pending, self.pending = self.pending, {}
        for waiter in pending.values():
            if not waiter.done():
                waiter.set_exception(Unavailable(f"{self._client}: connection lost ({exc})"))


class MuxClient:
    """Requests to one peer over one connection, opened on first use and after a break."""

    def __init__(
        self,
        host: str,
        port: int,
        *,
        secret: bytes | None = None,
        max_message_bytes: int = DEFAULT_MAX_MESSAGE_BYTES,
    ) -> None:
        self.host = host
        self.port = port
        self.secret = secret
        self.max_message_bytes = max_message_bytes
        self._side: _ClientSide | None = None
        self._connecting: asyncio.Future[_ClientSide] | None = None
        self._number = 0

    def __str__(self) -> str:
        return f"fabric peer {self.host}:{self.port}"

    async def call(self, method: int, body: bytes) -> bytes:
        """Send one request and wait for its answer's body."""
        if len(body) > self.max_message_bytes:
            raise ValueError(f"a fabric request of {len(body)} bytes exceeds the limit")
        side = self._side if self._side is not None else await self._connect()
        if side.lost:
            raise Unavailable(f"{self}: connection lost")
        self._number += 1
        number = self._number
        waiter: asyncio.Future[tuple[int, bytes]] = asyncio.get_running_loop().create_future()
        side.pending[number] = waiter
        side.send(number, method, body)
        side.awaiting()
        try:
            code, answer = await waiter
        finally:
            side.pending.pop(number, None)
        if code == OK:
            return answer
        if code == UNKNOWN_METHOD:
            raise Unavailable(f"{self} does not know method {method}")
        raise Unavailable(f"{self} could not carry out method {method}: {answer.decode()}")

    async def _connect(self) -> _ClientSide:
        if self._connecting is None:
            self._connecting = asyncio.ensure_future(self._open())
        connecting = self._connecting
        try:
            return await asyncio.shield(connecting)
        finally:
            if connecting.done() and self._connecting is connecting:
                self._connecting = None

    async def _open(self) -> _ClientSide:
        loop = asyncio.get_running_loop()
        try:
            transport, side = await asyncio.wait_for(
                loop.create_connection(lambda: _ClientSide(self), self.host, self.port),
                CONNECT_TIMEOUT_S,
            )
        except TimeoutError:  # packets dropped (a cut): do not wait out TCP's SYN retries
            raise Unavailable(f"{self}: no connection within {CONNECT_TIMEOUT_S} s") from None
        except OSError as exc:
            raise Unavailable(f"{self}: {exc}") from exc
        try:
            await asyncio.wait_for(asyncio.shield(side.shaken), HANDSHAKE_TIMEOUT_S)
        except TimeoutError:
            transport.abort()
            raise Unavailable(f"{self}: no handshake within {HANDSHAKE_TIMEOUT_S} s") from None
        if not side.lost:
            self._side = side
        return side

    def lost(self, side: _ClientSide) -> None:
        if self._side is side:
            self._side = None

    async def close(self) -> None:
        connecting, self._connecting = self._connecting, None
        if connecting is not None:
            connecting.cancel()
            with contextlib.suppress(BaseException):
                await connecting
        side, self._side = self._side, None
        if side is not None and side.transport is not None:
            side.transport.close()


# ---------------------------------------------------------------------------------- server


class _ServerSide(_Framed):
    def __init__(self, server: MuxServer) -> None:
        super().__init__(server.max_message_bytes, server.secret)
        self._server = server
        self._preface = OPEN_PREFACE if self._key is None else SEALED_PREFACE
        self._nonces: tuple[bytes, bytes] | None = None  # (client's, ours) once sent

    def shake(self, buffer: bytearray) -> None:
        preface = self._preface
        if self._nonces is None:
            if not preface.startswith(bytes(buffer[: len(preface)])):
                raise ProtocolError("not a fabric connection, or not one with this secret mode")
            if len(buffer) < len(preface) + (0 if self._key is None else NONCE_BYTES):
                return
            del buffer[: len(preface)]
            if self._key is None:
                self.ready = True
                return
            theirs, ours = bytes(buffer[:NONCE_BYTES]), os.urandom(NONCE_BYTES)
            del buffer[:NONCE_BYTES]
            self._nonces = (theirs, ours)
            assert self.transport is not None
            self.transport.write(ours + self._mac(b"server", theirs, ours))
        if len(buffer) < MAC_BYTES:
            return
        mac = bytes(buffer[:MAC_BYTES])
        del buffer[:MAC_BYTES]
        theirs, ours = self._nonces
        self._check(mac, b"client", ours, theirs)
        self.ready = True

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        super().connection_made(transport)
        self._server.opened(self)
        asyncio.get_running_loop().call_later(HANDSHAKE_TIMEOUT_S, self._expire)

    def _expire(self) -> None:
        if not self.ready and self.transport is not None and not self.transport.is_closing():
            self._fail(ProtocolError(f"no handshake within {HANDSHAKE_TIMEOUT_S} s"))

    def received(self, number: int, code: int, body: bytes) -> None:
        if number == PING:
            self.send(PING, OK, b"")
            return
        self._server.spawn(self._answer(number, code, body))

    async def _answer(self, number: int, method: int, body: bytes) -> None:
        try:
            answer, code = await self._server.serve(method, body), OK
        except UnknownMethod:
            answer, code = b"", UNKNOWN_METHOD
        except Exception as exc:  # the log refused, a bad body, ...: the caller decides
            log.warning("fabric method %d failed: %s", method, exc)
            answer, code = str(exc).encode(), UNAVAILABLE
        self.send(number, code, answer)

    def connection_lost(self, exc: Exception | None) -> None:
        self._server.closed(self)


class MuxServer:
    """Serves `serve(method, body) -> body` to `MuxClient`s on `host:port`."""

    def __init__(
        self,
        serve: Serve,
        host: str,
        port: int,
        *,
        secret: bytes | None = None,
        max_message_bytes: int = DEFAULT_MAX_MESSAGE_BYTES,
        name: str = "fabric",
    ) -> None:
        self.serve = serve
        self.secret = secret
        self.host = host
        self.port = port
        self.max_message_bytes = max_message_bytes
        self.name = name
        self._listener: asyncio.Server | None = None
        self._sides: set[_ServerSide] = set()
        self._tasks: set[asyncio.Task[None]] = set()

    async def start(self) -> int:
        """Listen; returns the bound port."""
        self._listener = await asyncio.get_running_loop().create_server(
            lambda: _ServerSide(self), self.host, self.port, reuse_address=True
        )
        sockets = self._listener.sockets
        self.port = int(sockets[0].getsockname()[1]) if sockets else self.port
        log.info("%s listening on %s:%d", self.name, self.host, self.port)
        return self.port

    def spawn(self, answer: Awaitable[None]) -> None:
        task = asyncio.ensure_future(answer)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def opened(self, side: _ServerSide) -> None:
        self._sides.add(side)
        if self._listener is None and side.transport is not None:
            side.transport.abort()  # accepted while closing

    def closed(self, side: _ServerSide) -> None:
        self._sides.discard(side)

    async def close(self) -> None:
        """Stop accepting, cancel the requests still running, close every connection."""
        listener, self._listener = self._listener, None
        if listener is None:
            return
        listener.close()
        for task in list(self._tasks):
            task.cancel()
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)
        for side in list(self._sides):
            if side.transport is not None:
                side.transport.abort()
        await listener.wait_closed()
