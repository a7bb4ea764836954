"""The invoker against a deployment that goes away and comes back: invocations waiting for it
restart as soon as it accepts connections again, retries that come due meanwhile still count
(as Restate counts failed connections), and anything else keeps its retry delay.

Real gRPC and a real store: the invoker talks to a fake deployment that speaks the protocol
just enough (it records every `Start` and then does what the test says), served in-process;
"killing" it closes its server and every connection, restarting it serves the same port again.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import grpc
import prometheus_client

from log.memory import MemoryLog
from node.invoker import Invoker, Options
from node.local import free_port
from node.proposer import Proposer
from node.retry import RetryPolicy
from partition.schema import Schema
from perdure_proto import protocol_pb2 as pb
from perdure_proto import protocol_pb2_grpc as pb_grpc
from perdure_proto import records_pb2 as rec
from tests.partition.scenario import Scenario, manifest

Reply = Literal["hold", "fail"]


@dataclass
class Start:
    at: float  # monotonic
    attempt: int
    retry_count: int


@dataclass
class FakeDeployment(pb_grpc.DeploymentServicer):
    """Records each `Start`; "hold" keeps the attempt running silently, "fail" breaks its
    stream with an error while the server (and so the connection) stays up."""

    reply: Reply = "hold"
    starts: list[Start] = field(default_factory=list)
    port: int = field(default_factory=free_port)
    server: Any = None

    async def Invoke(
        self, request_iterator: AsyncIterator[pb.ServerBatch], context: Any
    ) -> AsyncIterator[pb.DeploymentBatch]:
        async for batch in request_iterator:
            for m in batch.messages:
                if m.WhichOneof("kind") == "start":
                    self.starts.append(Start(time.monotonic(), m.attempt, m.start.retry_count))
                    if self.reply == "fail":
                        await context.abort(grpc.StatusCode.INTERNAL, "the handler crashed")
        yield pb.DeploymentBatch()  # never reached while the node keeps the stream open

    async def start(self) -> None:
        self.server = grpc.aio.server()
        pb_grpc.add_DeploymentServicer_to_server(self, self.server)  # type: ignore[no-untyped-call]
        self.server.add_insecure_port(f"127.0.0.1:{self.port}")
        await self.server.start()

    async def kill(self) -> None:
        await self.server.stop(grace=None)


class RecordingProposer(Proposer):
    """Records what is proposed, and applies it to the scenario's store at once (the log and
    its processor in one step), so a retry's barrier is seen applied."""

    def __init__(self, log_: MemoryLog, sc: Scenario) -> None:
        super().__init__(log_)
        self.proposed: list[rec.Envelope] = []
        self._sc = sc

    def propose(self, envelope: rec.Envelope) -> Awaitable[int]:
        self.proposed.append(envelope)
        self._sc.apply(envelope)
        done: asyncio.Future[int] = asyncio.get_running_loop().create_future()
        done.set_result(self._sc.lsn)
        return done


@asynccontextmanager
async def invoking(
    tmp_path: Path, fake: FakeDeployment, policy: RetryPolicy
) -> AsyncIterator[RecordingProposer]:
    """Invocation inv_1 (Greeter/greet, pinned to `fake`) run by an invoker with `policy`."""
    sc = Scenario(tmp_path / "store")
    uri = f"http://127.0.0.1:{fake.port}"
    sc.apply(
        rec.Envelope(
            register_deployment=rec.RegisterDeployment(
                deployment_id="dp_1", uri=uri, manifest=manifest()
            )
        )
    )
    sc.invoke("inv_1", "Greeter", "greet", send=True)
    log_ = MemoryLog()
    await log_.start()
    proposer = RecordingProposer(log_, sc)
    await fake.start()
    try:
        async with asyncio.TaskGroup() as tg:
            invoker = Invoker(
                sc.store, proposer, Schema.load(sc.store), Options(default_retry=policy), tg
            )
            try:
                invoker.invoke("inv_1")
                yield proposer
            finally:
                await invoker.close()
    finally:
        await fake.kill()
        sc.store.close()


async def until(condition: Callable[[], bool], what: str, timeout: float = 5.0) -> None:
    try:
        async with asyncio.timeout(timeout):
            while not condition():
                await asyncio.sleep(0.005)
    except TimeoutError:
        raise AssertionError(f"timed out after {timeout} s waiting for {what}") from None


def unreachable_deployments() -> float:
    value = prometheus_client.REGISTRY.get_sample_value("perdure_invoker_unreachable_deployments")
    return value or 0.0


async def kill_until_unreachable(fake: FakeDeployment) -> None:
    before = unreachable_deployments()
    await fake.kill()
    await until(lambda: unreachable_deployments() > before, "the invoker to find it unreachable")


async def test_a_restarted_deployment_gets_its_waiting_invocation_at_once(
    tmp_path: Path,
) -> None:
    fake = FakeDeployment()
    async with invoking(tmp_path, fake, RetryPolicy(initial_interval_ms=5_000)):
        await until(lambda: len(fake.starts) == 1, "the first attempt")
        await kill_until_unreachable(fake)
        await fake.start()
        restarted = time.monotonic()
        await until(lambda: len(fake.starts) == 2, "the second attempt", timeout=3)
        waited = fake.starts[1].at - restarted
        assert waited < 0.5, f"restarted {waited:.3f} s after the deployment (retry delay 5 s)"
        assert fake.starts[1].retry_count == 1  # the lost attempt counts, nothing else did


async def test_a_stream_broken_by_a_connected_deployment_waits_for_the_retry_delay(
    tmp_path: Path,
) -> None:
    fake = FakeDeployment(reply="fail")
    before = unreachable_deployments()
    async with invoking(tmp_path, fake, RetryPolicy(initial_interval_ms=1_000)):
        await until(lambda: len(fake.starts) == 2, "the retry")
        assert fake.starts[1].at - fake.starts[0].at >= 0.9
        assert unreachable_deployments() == before


async def test_retries_due_while_the_deployment_is_down_count_and_pause_it_at_the_limit(
    tmp_path: Path,
) -> None:
    fake = FakeDeployment()
    policy = RetryPolicy(initial_interval_ms=100, factor=1.0, max_attempts=4)
    async with invoking(tmp_path, fake, policy) as proposer:
        await until(lambda: len(fake.starts) == 1, "the first attempt")
        await kill_until_unreachable(fake)

        def pauses() -> list[rec.Envelope]:
            return [e for e in proposer.proposed if e.HasField("pause_invocation")]

        await until(lambda: bool(pauses()), "the invocation to be paused", timeout=3)
        failure = pauses()[0].pause_invocation.last_failure
        assert "does not accept connections" in failure.message, failure


async def test_an_early_restart_lost_before_any_command_falls_back_to_the_retry_delay(
    tmp_path: Path,
) -> None:
    # A deployment that dies on the invocation it was just given: restarting that invocation
    # at every reconnect would make a crash loop; after one early restart, the delay rules.
    fake = FakeDeployment()
    async with invoking(tmp_path, fake, RetryPolicy(initial_interval_ms=1_000)):
        await until(lambda: len(fake.starts) == 1, "the first attempt")
        await kill_until_unreachable(fake)
        await fake.start()
        await until(lambda: len(fake.starts) == 2, "the early restart", timeout=3)
        await kill_until_unreachable(fake)
        lost = time.monotonic()
        await fake.start()
        await until(lambda: len(fake.starts) == 3, "the retry", timeout=6)
        # Two failures: the next attempt is due 2 s after the second loss, not at the reconnect.
        assert fake.starts[2].at - lost >= 1.5
        assert [s.retry_count for s in fake.starts] == [0, 1, 2]
