"""Long-lived gRPC bidi streams to one deployment, many invocations multiplexed on each.

Everything sent on a stream during one event-loop turn is coalesced into one `ServerBatch`
(one gRPC message costs ~0.25 ms of CPU whatever it carries: research/feasibility.md section 4).
A stream that breaks reports every attempt on it as failed; the next send opens a new one.

Reachability
------------
A `Connection` follows its channel's connectivity state for as long as it lives, keeping the
channel connected (a stream needs it anyway). A failed connection attempt (TRANSIENT_FAILURE:
the deployment died, restarts, or the network is down) makes it unreachable; the next READY
makes it reachable again and tells the sink (`on_reachable`), which restarts what waited. gRPC
retries the connection on its own, on the short backoff of `CHANNEL_OPTIONS` (100 ms, capped at
200 ms), so a deployment that comes back is used within one reconnect period, whatever the
invocations' retry delays have grown to. A stream that breaks while the channel stays connected
(an error inside the deployment) changes nothing here. The transitions come from gRPC's own state
reports: no timer of ours is involved, and a connection known to be down is never tried.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import zlib
from collections.abc import Sequence
from typing import Protocol

import grpc

from node import metrics
from perdure_proto import protocol_pb2 as pb
from perdure_proto import protocol_pb2_grpc as pbg

log = logging.getLogger(__name__)

MAX_MESSAGE_BYTES = 256 * 1024 * 1024
KEEPALIVE_TIME_MS = 20_000
CHANNEL_OPTIONS: list[tuple[str, int]] = [
    ("grpc.max_send_message_length", MAX_MESSAGE_BYTES),
    ("grpc.max_receive_message_length", MAX_MESSAGE_BYTES),
    # Keepalive finds a dead deployment host on a stream that carries nothing for a while (a
    # long `ctx.run`, or an idle stream): a ping every 20 s, dead after 10 s without its ack,
    # and no cap on pings between data frames (gRPC's default of 2 would stop pinging, or since
    # gRPC 1.65 slow down to one a minute, on exactly those streams). A gRPC server's default
    # policy (at most one ping per 5 min without data, GOAWAY `too_many_pings` on the third
    # strike) would close such a stream; the SDK's server (sdk/perdure/server.py) accepts a ping
    # every 10 s, half this period, so the two never disagree. Change them together.
    ("grpc.keepalive_time_ms", KEEPALIVE_TIME_MS),
    ("grpc.keepalive_timeout_ms", 10_000),
    ("grpc.http2.max_pings_without_data", 0),
    # While a deployment is down, gRPC retries the connection on this backoff; the first retry
    # after it accepts connections again makes it reachable (module docstring), so the cap
    # bounds how long waiting invocations take to resume.
    ("grpc.initial_reconnect_backoff_ms", 100),
    ("grpc.max_reconnect_backoff_ms", 200),
]


class Sink(Protocol):
    def on_batch(self, stream: Stream, batch: pb.DeploymentBatch) -> None: ...

    def on_stream_lost(self, stream: Stream) -> None: ...

    def on_reachable(self, conn: Connection) -> None:
        """A connection attempt to `conn`'s deployment had failed; now it is connected."""
        ...


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
        metrics.INVOKER_STREAMS.inc()
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
        finally:
            metrics.INVOKER_STREAMS.dec()
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
    """A channel to one deployment, its streams and whether the deployment is reachable."""

    def __init__(
        self,
        deployment_id: str,
        uri: str,
        headers: list[tuple[str, str]],
        n_streams: int,
        sink: Sink,
        tasks: asyncio.TaskGroup,
        options: Sequence[tuple[str, int]] = CHANNEL_OPTIONS,
    ) -> None:
        """`tasks` owns the streams' tasks and the connectivity watch (the leader unit's group);
        `options` are the channel's (tests shorten the keepalive period). Create it on the
        event loop: it starts watching the channel at once."""
        self.deployment_id = deployment_id
        self.uri = uri
        self.metadata = tuple((k.lower(), v) for k, v in headers)
        self.sink = sink
        self.tasks = tasks
        self.channel = grpc.aio.insecure_channel(grpc_target(uri), options=list(options))
        self.reachable = True  # until a connection attempt fails
        self._streams: list[Stream | None] = [None] * max(1, n_streams)
        self._watch = tasks.create_task(self._follow_connectivity(), name=f"watch-{deployment_id}")

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

    async def _follow_connectivity(self) -> None:
        ready, failed = grpc.ChannelConnectivity.READY, grpc.ChannelConnectivity.TRANSIENT_FAILURE
        try:
            state = self.channel.get_state(try_to_connect=True)
            while state is not grpc.ChannelConnectivity.SHUTDOWN:
                if state is failed and self.reachable:
                    self._set_reachable(False)
                elif state is ready and not self.reachable:
                    self._set_reachable(True)
                    self.sink.on_reachable(self)
                await self.channel.wait_for_state_change(state)
                state = self.channel.get_state(try_to_connect=True)
        except asyncio.CancelledError:
            raise
        except Exception:
            # Never take the leader unit down over the watch: without it, attempts simply try
            # the deployment (and a failed one waits for its retry delay, as before).
            log.exception("watching the connection to %s failed", self.uri)
            self._set_reachable(True)

    def _set_reachable(self, reachable: bool) -> None:
        if reachable == self.reachable:
            return
        self.reachable = reachable
        if reachable:
            metrics.UNREACHABLE_DEPLOYMENTS.dec()
            log.info("deployment %s at %s is reachable again", self.deployment_id, self.uri)
        else:
            metrics.UNREACHABLE_DEPLOYMENTS.inc()
            log.info("deployment %s at %s is unreachable", self.deployment_id, self.uri)

    async def close(self) -> None:
        self._watch.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._watch
        self._set_reachable(True)
        for stream in self._streams:
            if stream is not None:
                await stream.close()
        await self.channel.close()
