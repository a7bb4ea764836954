"""Real processes: ``python -m examples`` and ``python -m perdure serve`` answer over gRPC."""

from __future__ import annotations

import asyncio
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import grpc
import pytest

from perdure._testing import msg_ack, msg_start, start
from perdure_proto import protocol_pb2 as pb
from perdure_proto import protocol_pb2_grpc as pb_grpc

REPO = Path(__file__).resolve().parents[2]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(params=["examples", "perdure-cli"])
def deployment(request: pytest.FixtureRequest) -> Iterator[int]:
    port = _free_port()
    if request.param == "examples":
        args = ["-m", "examples", "--port", str(port)]
    else:
        args = ["-m", "perdure", "serve", "examples.services:app", "--port", str(port)]
    proc = subprocess.Popen([sys.executable, *args], cwd=REPO, stderr=subprocess.PIPE)
    try:
        yield port
    finally:
        proc.terminate()
        proc.wait(timeout=10)


async def _discover(stub: Any, deadline: float) -> pb.Manifest:
    loop = asyncio.get_running_loop()
    while True:
        try:
            return await stub.Discover(pb.DiscoverRequest(), timeout=1)  # type: ignore[no-any-return]
        except grpc.aio.AioRpcError:
            if loop.time() > deadline:
                raise
            await asyncio.sleep(0.1)


async def test_served_examples_discover_and_run(deployment: int) -> None:
    async with grpc.aio.insecure_channel(f"127.0.0.1:{deployment}") as channel:
        stub: Any = pb_grpc.DeploymentStub(channel)  # type: ignore[no-untyped-call]
        manifest = await _discover(stub, asyncio.get_running_loop().time() + 20)
        assert {"Greeter", "Counter", "Steps"} <= {s.name for s in manifest.services}
        call = stub.Invoke()
        await call.write(pb.ServerBatch(messages=[msg_start("s1", start("Steps", "run3", b"1"))]))
        output = b""
        while not output:
            batch = await asyncio.wait_for(call.read(), 10)
            for m in batch.messages:
                entry = m.command.entry
                if entry.WhichOneof("command") == "run":
                    ack = msg_ack("s1", m.command.index)
                    await call.write(pb.ServerBatch(messages=[ack]))
                elif entry.WhichOneof("command") == "output":
                    output = entry.output.result.value
        assert output == b"7"
        call.cancel()
