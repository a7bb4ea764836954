"""What the invoker does when the effects an attempt proposed fail or are slow to apply. Found
by the simulation (`python -m sim --seed 3`, sim/__init__.py).

* A retried attempt must start from every effect the failed one proposed (ARCHITECTURE.md,
  "Exactly-once journaling": a retry starts only after those effects are *applied*, so its
  `Start` carries the whole journal and a journaled step never runs again). The invoker used to
  wait only until they were durable, then read the journal from a store that might not have
  applied them.
* An effect whose append fails makes the partition drop the later ones (their indexes no longer
  follow); the invoker used to ignore the failure when the attempt had already ended (sent its
  output), and then nothing ran the invocation again.
* An effect whose append had an unknown outcome (raised, yet committed) has no position to wait
  for: the retry may read the store before it is applied, and re-run its step (not fixed yet;
  appending a barrier record after the failure and waiting for it to be applied would do, as
  one caller's records commit in call order).

Real gRPC and a real store; the partition's processor is played by the test, which applies the
log to the store by hand, and late.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import grpc

from log.api import Error as LogError
from log.memory import MemoryLog
from node.invoker import Invoker, Options
from node.local import free_port
from node.proposer import Proposer
from node.retry import RetryPolicy
from partition.schema import Schema
from partition.state_machine import StateMachine
from partition.store import Store
from perdure_proto import protocol_pb2 as pb
from perdure_proto import protocol_pb2_grpc as pb_grpc
from perdure_proto import records_pb2 as rec
from tests.partition.scenario import manifest


def step(invocation_id: str, index: int) -> pb.DeploymentMessage:
    run = pb.JournalEntry(run=pb.Run(result=pb.Result(value=b"42")))
    msg = pb.DeploymentMessage(invocation_id=invocation_id, attempt=1)
    msg.command.CopyFrom(pb.Command(index=index, entry=run))
    return msg


def crash(invocation_id: str) -> pb.DeploymentMessage:
    msg = pb.DeploymentMessage(invocation_id=invocation_id, attempt=1)
    msg.error.CopyFrom(pb.AttemptError(code=500, message="crashed"))
    return msg


def output(invocation_id: str, index: int) -> list[pb.DeploymentMessage]:
    out = pb.JournalEntry(output=pb.Output(result=pb.Result(value=b"done")))
    msg = pb.DeploymentMessage(invocation_id=invocation_id, attempt=1)
    msg.command.CopyFrom(pb.Command(index=index, entry=out))
    return [msg, pb.DeploymentMessage(invocation_id=invocation_id, attempt=1, end=pb.End())]


@dataclass
class Scripted(pb_grpc.DeploymentServicer):
    """Attempt 1 sends the batches of `script` (a function of the invocation id); later
    attempts only record their `Start` and wait."""

    script: Any
    starts: list[pb.Start] = field(default_factory=list)
    port: int = field(default_factory=free_port)
    server: Any = None

    async def Invoke(
        self, request_iterator: AsyncIterator[pb.ServerBatch], context: Any
    ) -> AsyncIterator[pb.DeploymentBatch]:
        async for batch in request_iterator:
            for m in batch.messages:
                if m.WhichOneof("kind") != "start":
                    continue
                self.starts.append(m.start)
                if m.attempt == 1:
                    for messages in self.script(m.invocation_id):
                        yield pb.DeploymentBatch(messages=messages)

    async def start(self) -> None:
        self.server = grpc.aio.server()
        pb_grpc.add_DeploymentServicer_to_server(self, self.server)  # type: ignore[no-untyped-call]
        self.server.add_insecure_port(f"127.0.0.1:{self.port}")
        await self.server.start()


class Partition(Proposer):
    """A log, the proposer to it, and a store that applies the log only when told to (a
    processor running late)."""

    def __init__(
        self, path: Path, lose_first_effect: bool = False, doubt_first_effect: bool = False
    ) -> None:
        self.log = MemoryLog()
        super().__init__(self.log)
        self.store = Store(path)
        self.sm = StateMachine(self.store)
        self.durable = 0  # the last position appended
        self.applied = 0
        # Lose the first invoker effect, failing its append only after the next one's.
        self._lose: asyncio.Future[int] | None = None
        self._losing = lose_first_effect
        # Commit the first invoker effect, but report its append as failed (unknown outcome).
        self._doubting = doubt_first_effect

    def propose(self, envelope: rec.Envelope) -> Awaitable[int]:
        if envelope.HasField("invoker_effect") and self._doubting:
            self._doubting = False
            told = asyncio.get_running_loop().create_future()
            committed = asyncio.ensure_future(super().propose(envelope))

            def doubt(fut: asyncio.Future[int]) -> None:
                self.durable = max(self.durable, fut.result())
                told.set_exception(LogError("the append may or may not have been committed"))

            committed.add_done_callback(doubt)
            return told
        if envelope.HasField("invoker_effect") and self._losing:
            self._losing = False
            self._lose = asyncio.get_running_loop().create_future()
            return self._lose
        fut = asyncio.ensure_future(super().propose(envelope))
        if self._lose is not None:
            lost, self._lose = self._lose, None
            fut.add_done_callback(lambda _: lost.set_exception(LogError("lost")))
        fut.add_done_callback(self._appended)
        return fut

    def _appended(self, fut: asyncio.Future[int]) -> None:
        if not fut.cancelled() and fut.exception() is None:
            self.durable = max(self.durable, fut.result())

    async def apply_all(self) -> None:
        async for entry in self.log.read(self.applied + 1):
            txn = self.store.transaction()
            self.sm.apply(txn, entry.record)
            txn.commit(entry.lsn)
            self.applied = entry.lsn
            if self.applied == self.durable:
                return


async def until(condition: Any, what: str, timeout: float = 5.0) -> None:
    try:
        async with asyncio.timeout(timeout):
            while not condition():
                await asyncio.sleep(0.005)
    except TimeoutError:
        raise AssertionError(f"timed out after {timeout} s waiting for {what}") from None


async def within(seconds: float, condition: Any) -> bool:
    """Whether `condition()` holds within `seconds` (polled)."""
    try:
        await until(condition, "", seconds)
    except AssertionError:
        return False
    return True


async def test_a_retry_starts_with_the_step_its_failed_attempt_journaled(tmp_path: Path) -> None:
    fake = Scripted(lambda inv: [[step(inv, 1)], [crash(inv)]])
    async with invoking(tmp_path, fake, Partition(tmp_path / "store")) as partition:
        # Attempt 1's step is durable in the log; the store has not applied it yet.
        await until(lambda: partition.durable == 3, "the effect of attempt 1")
        # Thirty retry delays: a retry that does not wait for the apply is sent by then.
        await within(0.3, lambda: len(fake.starts) > 1)
        early = [len(s.journal) for s in fake.starts[1:]]
        assert all(n == 1 for n in early), (
            f"retries started with journals of {early} entries while step 1 was durable "
            "but not applied: the step would run again"
        )
        await partition.apply_all()
        await until(lambda: len(fake.starts) > 1, "the retry")
        assert len(fake.starts[1].journal) == 1


async def test_an_attempt_that_ended_is_retried_when_an_earlier_effect_was_lost(
    tmp_path: Path,
) -> None:
    fake = Scripted(lambda inv: [[step(inv, 1)], output(inv, 2)])
    partition = Partition(tmp_path / "store", lose_first_effect=True)
    async with invoking(tmp_path, fake, partition):
        # Effect 1 (step 1) was lost, effect 2 (the output at index 2) is durable: the
        # partition drops it (index 1 is missing), so only a new attempt can finish the work.
        await until(lambda: partition.durable >= 3, "the output's effect")
        # The retry waits until what is durable, and then its barrier, are applied.
        for _ in range(400):
            if partition.durable > partition.applied:
                await partition.apply_all()
            if len(fake.starts) > 1:
                break
            await asyncio.sleep(0.005)
        assert len(fake.starts) > 1, "no new attempt"
        assert len(fake.starts[1].journal) == 0  # the output was dropped: start over


async def test_a_retry_starts_with_a_step_whose_append_had_an_unknown_outcome(
    tmp_path: Path,
) -> None:
    # Attempt 1 journals step 1 and waits for its Ack; the append is committed but reported
    # failed (as across a Raft leader change), which fails the attempt.
    fake = Scripted(lambda inv: [[step(inv, 1)]])
    partition = Partition(tmp_path / "store", doubt_first_effect=True)
    async with invoking(tmp_path, fake, partition):
        await until(lambda: partition.durable == 3, "the effect of attempt 1")
        await within(0.3, lambda: len(fake.starts) > 1)
        early = [len(s.journal) for s in fake.starts[1:]]
        assert all(n == 1 for n in early), (
            f"retries started with journals of {early} entries while step 1 was committed "
            "(its append reported failed) but not applied: the step would run again, and the "
            "Ack of the committed step would reach the new attempt"
        )
        await partition.apply_all()
        await until(lambda: len(fake.starts) > 1, "the retry")
        assert len(fake.starts[1].journal) == 1


@asynccontextmanager
async def invoking(
    tmp_path: Path, fake: Scripted, partition: Partition
) -> AsyncIterator[Partition]:
    """inv_1 (Greeter/greet) on `fake`, run by an invoker that retries after 10 ms."""
    await fake.start()
    await partition.log.start()
    uri = f"http://127.0.0.1:{fake.port}"
    register = rec.RegisterDeployment(deployment_id="dp_1", uri=uri, manifest=manifest())
    await partition.propose(rec.Envelope(register_deployment=register))
    invoke = rec.Invoke(invocation_id="inv_1", service="Greeter", handler="greet")
    await partition.propose(rec.Envelope(invoke=invoke))
    await partition.apply_all()
    options = Options(default_retry=RetryPolicy(initial_interval_ms=10, factor=1.0))
    try:
        async with asyncio.TaskGroup() as tg:
            invoker = Invoker(partition.store, partition, Schema.load(partition.store), options, tg)
            try:
                invoker.invoke("inv_1")
                yield partition
            finally:
                await invoker.close()
    finally:
        await fake.server.stop(grace=None)
        partition.store.close()
