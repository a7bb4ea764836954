"""Real gRPC: serve an app on 127.0.0.1 and act as the Perdure server against it."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import grpc
import pytest

import perdure as restate
from perdure import Context, ObjectContext
from perdure._testing import msg_ack, msg_start, start
from perdure.server import start_server
from perdure_proto import protocol_pb2 as pb
from perdure_proto import protocol_pb2_grpc as pb_grpc

greeter = restate.Service("Greeter")


@greeter.handler()
async def greet(ctx: Context, name: str) -> str:
    return f"Hello, {name}!"


counter = restate.VirtualObject("Counter")


@counter.handler()
async def add(ctx: ObjectContext, n: int) -> int:
    count = (await ctx.get("count", type_hint=int) or 0) + n
    ctx.set("count", count)
    return count


steps = restate.Service("Steps")


async def plus(value: int, step: int) -> int:
    return value + step


@steps.handler()
async def run3(ctx: Context, x: int) -> int:
    for step in (1, 2, 3):
        x = await ctx.run_typed(f"add {step}", plus, restate.RunOptions(), x, step)
    return x


app = restate.app(services=[greeter, counter, steps])


@pytest.fixture
async def channel() -> AsyncIterator[grpc.aio.Channel]:
    server, port = await start_server(app, "127.0.0.1", 0)
    async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as ch:
        yield ch
    await server.stop(grace=None)


async def test_discover_returns_the_manifest(channel: grpc.aio.Channel) -> None:
    stub: Any = pb_grpc.DeploymentStub(channel)  # type: ignore[no-untyped-call]
    manifest = await stub.Discover(
        pb.DiscoverRequest(min_protocol_version=1, max_protocol_version=1)
    )
    assert [s.name for s in manifest.services] == ["Greeter", "Counter", "Steps"]
    assert manifest.services[1].ty == pb.VIRTUAL_OBJECT
    assert manifest.services[1].handlers[0].ty == pb.EXCLUSIVE


async def test_discover_refuses_an_unsupported_protocol_range(channel: grpc.aio.Channel) -> None:
    stub: Any = pb_grpc.DeploymentStub(channel)  # type: ignore[no-untyped-call]
    with pytest.raises(grpc.aio.AioRpcError) as info:
        await stub.Discover(pb.DiscoverRequest(min_protocol_version=2, max_protocol_version=3))
    assert info.value.code() == grpc.StatusCode.FAILED_PRECONDITION


async def test_interleaved_invocations_share_batches(channel: grpc.aio.Channel) -> None:
    stub: Any = pb_grpc.DeploymentStub(channel)  # type: ignore[no-untyped-call]
    call = stub.Invoke()
    await call.write(
        pb.ServerBatch(
            messages=[
                msg_start("g1", start("Greeter", "greet", b'"Ada"')),
                msg_start("c1", start("Counter", "add", b"2", key="a", state={"count": b"40"})),
                msg_start("s1", start("Steps", "run3", b"10")),
                msg_start("g2", start("Greeter", "greet", b'"Bob"')),
            ]
        )
    )
    outputs: dict[str, bytes] = {}
    ended: set[str] = set()
    batches: list[list[pb.DeploymentMessage]] = []
    while len(ended) < 4:
        batch = await call.read()
        assert batch is not grpc.aio.EOF
        batches.append(list(batch.messages))
        acks = []
        for m in batch.messages:
            kind = m.WhichOneof("kind")
            assert kind in ("command", "end"), m
            if kind == "end":
                ended.add(m.invocation_id)
            elif m.command.entry.WhichOneof("command") == "output":
                outputs[m.invocation_id] = m.command.entry.output.result.value
            elif m.command.entry.WhichOneof("command") == "run":
                acks.append(msg_ack(m.invocation_id, m.command.index))
        if acks:
            await call.write(pb.ServerBatch(messages=acks))
    assert outputs == {
        "g1": b'"Hello, Ada!"',
        "g2": b'"Hello, Bob!"',
        "c1": b"42",
        "s1": b"16",
    }
    first_ids = {m.invocation_id for m in batches[0]}
    assert len(first_ids) >= 3, f"first batch should coalesce invocations: {first_ids}"
    assert len(batches) <= 5
    await call.done_writing()
    assert await call.read() is grpc.aio.EOF


async def test_two_streams_run_independently(channel: grpc.aio.Channel) -> None:
    stub: Any = pb_grpc.DeploymentStub(channel)  # type: ignore[no-untyped-call]
    calls = [stub.Invoke(), stub.Invoke()]
    for i, c in enumerate(calls):
        await c.write(
            pb.ServerBatch(messages=[msg_start(f"g{i}", start("Greeter", "greet", b'"x"'))])
        )
    for i, c in enumerate(calls):
        batch = await c.read()
        assert {m.invocation_id for m in batch.messages} == {f"g{i}"}
        assert json.loads(batch.messages[0].command.entry.output.result.value) == "Hello, x!"
        c.cancel()
