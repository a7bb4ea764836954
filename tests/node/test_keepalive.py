"""The node's keepalive and the SDK server's ping policy agree: a stream held idle for many
keepalive periods is never closed with GOAWAY `too_many_pings`.

Real gRPC on both sides: the invoker's `Connection` (node.streams) against the SDK's servicer
(perdure.server), each with its production options except that every ping period is divided by
`SPEEDUP`, on both sides alike, so their ratio is the production one and the test takes seconds.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager

import grpc
import pytest

import perdure as restate
from node.streams import CHANNEL_OPTIONS, KEEPALIVE_TIME_MS, Connection, Stream
from perdure import Context
from perdure._testing import msg_start, start
from perdure.server import _OPTIONS as SDK_SERVER_OPTIONS
from perdure.server import DeploymentServicer
from perdure_proto import protocol_pb2 as pb
from perdure_proto import protocol_pb2_grpc as pb_grpc

SPEEDUP = 20  # gRPC clients never ping more often than once a second
PERIODS = ("grpc.keepalive_time_ms", "grpc.http2.min_ping_interval_without_data_ms")
IDLE_PERIODS = 6  # how many client keepalive periods the stream stays idle
GOAWAY = "too_many_pings"

echo = restate.Service("Echo")


@echo.handler()
async def say(ctx: Context, text: str) -> str:
    return text


app = restate.app(services=[echo])


def faster(options: Sequence[tuple[str, int]]) -> list[tuple[str, int]]:
    return [(k, v // SPEEDUP if k in PERIODS else v) for k, v in options]


class Recorder:
    """A Sink that records outputs and lost streams."""

    def __init__(self) -> None:
        self.outputs: dict[str, bytes] = {}
        self.lost = 0

    def on_batch(self, stream: Stream, batch: pb.DeploymentBatch) -> None:
        for m in batch.messages:
            if m.WhichOneof("kind") == "command" and m.command.entry.HasField("output"):
                self.outputs[m.invocation_id] = m.command.entry.output.result.value

    def on_stream_lost(self, stream: Stream) -> None:
        self.lost += 1

    def on_reachable(self, conn: Connection) -> None:
        pass


@asynccontextmanager
async def deployment(options: Sequence[tuple[str, int]]) -> AsyncIterator[str]:
    server = grpc.aio.server(options=list(options))
    pb_grpc.add_DeploymentServicer_to_server(DeploymentServicer(app), server)  # type: ignore[no-untyped-call]
    port = server.add_insecure_port("127.0.0.1:0")
    await server.start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        await server.stop(grace=None)


async def say_on(conn: Connection, sink: Recorder, invocation_id: str) -> None:
    conn.stream_for(invocation_id).send(msg_start(invocation_id, start("Echo", "say", b'"hi"')))
    async with asyncio.timeout(10):
        while invocation_id not in sink.outputs and not sink.lost:
            await asyncio.sleep(0.01)


async def hold_an_idle_stream(server_options: Sequence[tuple[str, int]]) -> Recorder:
    """Run one invocation, leave its stream idle for IDLE_PERIODS pings, run another."""
    sink = Recorder()
    async with deployment(server_options) as uri, asyncio.TaskGroup() as tg:
        conn = Connection("dp_1", uri, [], 1, sink, tg, options=faster(CHANNEL_OPTIONS))
        try:
            await say_on(conn, sink, "inv_1")
            # The idle time is what is under test, not a wait for something to happen.
            await asyncio.sleep(IDLE_PERIODS * KEEPALIVE_TIME_MS / SPEEDUP / 1000)
            await say_on(conn, sink, "inv_2")
        finally:
            await conn.close()
    return sink


async def test_an_idle_stream_outlives_many_keepalive_pings(
    capfd: pytest.CaptureFixture[str],
) -> None:
    sink = await hold_an_idle_stream(faster(SDK_SERVER_OPTIONS))
    logs = capfd.readouterr()
    assert sink.lost == 0, logs.err[-2000:]
    assert sink.outputs == {"inv_1": b'"hi"', "inv_2": b'"hi"'}
    assert GOAWAY not in logs.err + logs.out


async def test_a_server_with_grpc_default_ping_policy_would_goaway(
    capfd: pytest.CaptureFixture[str],
) -> None:
    """The check above can fail: against gRPC's default server policy the same pings are
    refused, the stream breaks and gRPC logs `too_many_pings`."""
    keepalive = {"grpc.http2.min_ping_interval_without_data_ms", "grpc.http2.max_ping_strikes"}
    defaults = [(k, v) for k, v in SDK_SERVER_OPTIONS if k not in keepalive]
    defaults = [(k, v) for k, v in defaults if k != "grpc.keepalive_permit_without_calls"]
    sink = await hold_an_idle_stream(defaults)
    logs = capfd.readouterr()
    assert sink.lost >= 1
    assert GOAWAY in logs.err + logs.out
