"""Long-lived gRPC bidi streams to one deployment, many invocations multiplexed on each.

Everything sent on a stream during one event-loop turn is coalesced into one `ServerBatch`
(one gRPC message costs ~0.25 ms of CPU whatever it carries: research/feasibility.md section 4).
A stream that breaks reports every attempt on it as failed; the next send opens a new one.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import zlib
from typing import Protocol

import grpc

from perdure_proto import protocol_pb2 as pb
from perdure_proto import protocol_pb2_grpc as pbg

log = logging.getLogger(__name__)

MAX_MESSAGE_BYTES = 256 * 1024 * 1024
CHANNEL_OPTIONS = [
    ("grpc.max_send_message_length", MAX_MESSAGE_BYTES),
    ("grpc.max_receive_message_length", MAX_MESSAGE_BYTES),
    ("grpc.keepalive_time_ms", 20_000),
    ("grpc.initial_reconnect_backoff_ms", 200),
    ("grpc.max_reconnect_backoff_ms", 2_000),
]


class Sink(Protocol):
    def on_batch(self, stream: Stream, batch: pb.DeploymentBatch) -> None: ...

    def on_stream_lost(self, stream: Stream) -> None: ...


def grpc_target(uri: str) -> str:
    """`http://host:port` (Restate's registration form), `grpc://host:port` or `host:port`."""
    for scheme in ("http://", "https://", "grpc://", "h2c://"):
        if uri.startswith(scheme):
            uri = uri[len(scheme) :]
            break
    return uri.rstrip("/")


class Stream:
    def __init__(self, conn: Connection, index: int) -> None:
        self.conn = conn
        self.index = index
        self._out: list[pb.ServerMessage] = []
        self._flush_scheduled = False
        self._queue: asyncio.Queue[pb.ServerBatch | None] = asyncio.Queue()
        self._task: asyncio.Task[None] | None = None
        self.alive = True

    def send(self, message: pb.ServerMessage) -> None:
        self._out.append(message)
        if not self._flush_scheduled:
            self._flush_scheduled = True
            asyncio.get_running_loop().call_soon(self._flush)

    def _flush(self) -> None:
        self._flush_scheduled = False
        if not self._out:
            return
        batch = pb.ServerBatch()
        batch.messages.extend(self._out)
        self._out = []
        self._queue.put_nowait(batch)
        if self._task is None:
            self._task = self.conn.tasks.create_task(
                self._run(), name=f"stream-{self.conn.deployment_id}-{self.index}"
            )

    async def _requests(self) -> object:
        while True:
            batch = await self._queue.get()
            if batch is None:
                return
            yield batch

    async def _run(self) -> None:
        stub = pbg.DeploymentStub(self.conn.channel)  # type: ignore[no-untyped-call]
        try:
            call = stub.Invoke(self._requests(), metadata=self.conn.metadata)
            async for batch in call:
                self.conn.sink.on_batch(self, batch)
        except asyncio.CancelledError:
            raise
        except grpc.aio.AioRpcError as exc:
            log.info("stream to %s broke: %s", self.conn.uri, exc.details() or exc.code().name)
        except Exception:
            log.exception("stream to %s failed", self.conn.uri)
        self.alive = False
        self.conn.stream_lost(self)

    async def close(self) -> None:
        self.alive = False
        self._queue.put_nowait(None)
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._task


class Connection:
    """A channel to one deployment and its streams."""

    def __init__(
        self,
        deployment_id: str,
        uri: str,
        headers: list[tuple[str, str]],
        n_streams: int,
        sink: Sink,
        tasks: asyncio.TaskGroup,
    ) -> None:
        """`tasks` owns the streams' tasks (the leader unit's group)."""
        self.deployment_id = deployment_id
        self.uri = uri
        self.metadata = tuple((k.lower(), v) for k, v in headers)
        self.sink = sink
        self.tasks = tasks
        self.channel = grpc.aio.insecure_channel(grpc_target(uri), options=CHANNEL_OPTIONS)
        self._streams: list[Stream | None] = [None] * max(1, n_streams)

    def stream_for(self, invocation_id: str) -> Stream:
        n = len(self._streams)
        i = zlib.crc32(invocation_id.encode()) % n if n > 1 else 0
        stream = self._streams[i]
        if stream is None or not stream.alive:
            stream = Stream(self, i)
            self._streams[i] = stream
        return stream

    def stream_lost(self, stream: Stream) -> None:
        if self._streams[stream.index] is stream:
            self._streams[stream.index] = None
        self.sink.on_stream_lost(stream)

    async def close(self) -> None:
        for stream in self._streams:
            if stream is not None:
                await stream.close()
        await self.channel.close()
