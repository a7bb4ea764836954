"""Messages between partition groups: a call from an invocation on one group to a key on another
starts the callee there and its result completes the caller's journal entry, through each
group's outbox and shuffle, exactly once even when every delivery arrives twice. (Two groups of
24 partitions, each with its own log, store and processor, in one process.)"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

from log.memory import MemoryLog
from node import leader
from node.processor import PartitionProcessor
from node.proposer import Proposer
from node.shuffle import Shuffle
from partition import context, ids, tables
from partition.routing import Partitioning
from partition.state_machine import StateMachine
from partition.store import Store
from perdure_proto import protocol_pb2 as pb
from perdure_proto import records_pb2 as rec
from perdure_proto import storage_pb2 as st
from tests.partition.scenario import manifest

TWO = Partitioning(partitions=24, groups=2)


@dataclass
class Partition:
    id: int
    log: MemoryLog
    store: Store
    processor: PartitionProcessor

    async def append(self, envelope: rec.Envelope) -> None:
        envelope.timestamp_ms = envelope.timestamp_ms or 1_000
        lsn = await self.log.append(envelope.SerializeToString())
        await self.processor.wait_applied(lsn, timeout=10)

    def status(self, invocation_id: str) -> st.InvocationStatus | None:
        return tables.get_status(self.store, invocation_id)

    def outbox(self) -> list[tuple[int, st.OutboxRow]]:
        return tables.outbox_after(self.store, 0, 100)


class SettlingProposer(Proposer):
    """Proposes to one partition's log and lets the test wait until what it proposed is
    applied there."""

    def __init__(self, partition: Partition) -> None:
        super().__init__(partition.log)
        self._partition = partition
        self._proposed: list[Awaitable[int]] = []

    def propose(self, envelope: rec.Envelope) -> Awaitable[int]:
        fut = asyncio.ensure_future(super().propose(envelope))
        self._proposed.append(fut)
        return fut

    async def settle(self) -> None:
        for fut in self._proposed:
            await self._partition.processor.wait_applied(await fut, timeout=10)
        self._proposed.clear()


class TwiceDeliverer:
    """Appends every round of `Deliver` records to the target's log twice, as a shuffle that
    lost the acknowledgement of its first attempt would."""

    def __init__(self) -> None:
        self.partitions: dict[int, Partition] = {}
        self.delivered = 0

    async def deliver(self, target: int, records: list[rec.Envelope]) -> None:
        for _ in range(2):
            for envelope in records:
                await self.partitions[target].append(envelope)
                self.delivered += 1


@asynccontextmanager
async def two_partitions(tmp_path: Path) -> AsyncIterator[list[Partition]]:
    async with AsyncExitStack() as stack:
        partitions = []
        for pid in range(2):
            log_ = MemoryLog()
            await log_.start()
            store = Store(tmp_path / f"p{pid}")
            stack.callback(store.close)
            options = context.Options(group=pid, partitioning=TWO)
            processor = PartitionProcessor(
                log_,
                store,
                StateMachine(store, options),
                Proposer(log_),
                f"node-{pid}",
                1,
                lambda: None,
                leader.Options(group=pid),
            )
            task = asyncio.create_task(processor.run(), name=f"processor-{pid}")
            stack.push_async_callback(_cancel, task)
            partitions.append(Partition(pid, log_, store, processor))
        for p in partitions:
            await p.append(
                rec.Envelope(
                    register_deployment=rec.RegisterDeployment(
                        deployment_id="dp_1", uri="http://127.0.0.1:9", manifest=manifest()
                    )
                )
            )
        yield partitions


async def _cancel(task: asyncio.Task[None]) -> None:
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)


def key_on(partition: int) -> str:
    return next(
        k for n in range(1000) if TWO.group_of_key(ids.partition_key(k := f"k{n}")) == partition
    )


def effect(invocation_id: str, index: int, entry: pb.JournalEntry) -> rec.Envelope:
    envelope = rec.Envelope()
    e = envelope.invoker_effect
    e.invocation_id = invocation_id
    e.attempt = 1
    e.deployment_id = "dp_1"
    e.commands.add(index=index, entry=entry)
    return envelope


async def test_a_call_across_partitions_runs_once_and_completes_the_caller(tmp_path: Path) -> None:
    async with two_partitions(tmp_path) as (p0, p1):
        deliverer = TwiceDeliverer()
        deliverer.partitions = {0: p0, 1: p1}
        proposers = [SettlingProposer(p) for p in (p0, p1)]
        shuffles = [Shuffle(p.id, p.store, proposers[p.id], deliverer) for p in (p0, p1)]

        caller_key, callee_key = key_on(0), key_on(1)
        caller = ids.deterministic_invocation_id("Counter", caller_key, "add", "c")
        assert TWO.group_of_invocation(caller) == 0
        await p0.append(
            rec.Envelope(
                invoke=rec.Invoke(
                    invocation_id=caller, service="Counter", handler="add", key=caller_key
                )
            )
        )
        call = pb.Call(service="Counter", handler="add", key=callee_key, argument=b"5")
        await p0.append(effect(caller, 1, pb.JournalEntry(call=call)))
        callee = ids.child_invocation_id(caller, 1, callee_key)
        assert TWO.group_of_invocation(callee) == 1
        assert p1.status(callee) is None  # not there yet: it waits in partition 0's outbox
        assert [row.target for _, row in p0.outbox()] == [1]

        assert await shuffles[0].deliver_once() == 1
        await proposers[0].settle()
        started = p1.status(callee)
        assert started is not None and started.phase == st.INVOKED
        assert started.caller_invocation_id == caller and started.caller_entry_index == 1
        assert list(started.attached_entries) == []  # the second delivery was dropped
        assert p0.outbox() == []  # truncated once delivered

        output = pb.JournalEntry(output=pb.Output(result=pb.Result(value=b"5")))
        await p1.append(effect(callee, 1, output))
        assert [row.target for _, row in p1.outbox()] == [0]
        entry = tables.get_journal_entry(p0.store, caller, 1)
        assert entry is not None and entry.completion.WhichOneof("result") is None

        assert await shuffles[1].deliver_once() == 1
        await proposers[1].settle()
        entry = tables.get_journal_entry(p0.store, caller, 1)
        assert entry is not None and entry.completion == pb.Result(value=b"5")
        assert entry.completion_invocation_id == callee
        assert p1.outbox() == []
        assert deliverer.delivered == 4  # two messages, each delivered twice
        assert await shuffles[0].deliver_once() == 0


async def test_a_new_leaders_shuffle_redelivers_what_was_not_truncated(tmp_path: Path) -> None:
    async with two_partitions(tmp_path) as (p0, p1):
        deliverer = TwiceDeliverer()
        deliverer.partitions = {0: p0, 1: p1}
        callee_key = key_on(1)
        sends = []
        for _ in range(3):
            caller = ids.random_invocation_id(key_on(0))
            await p0.append(
                rec.Envelope(
                    invoke=rec.Invoke(
                        invocation_id=caller, service="Greeter", handler="greet", key=""
                    )
                )
            )
            send = pb.Send(service="Counter", handler="add", key=callee_key, argument=b"1")
            await p0.append(effect(caller, 1, pb.JournalEntry(send=send)))
            sends.append(ids.child_invocation_id(caller, 1, callee_key))
        # The first leader delivered everything but died before its truncation was applied:
        # a second leader starts from the whole outbox again.
        for _ in range(2):
            first_round = tables.outbox_after(p0.store, 0, 100)
            assert len(first_round) == 3
            envelope = rec.Envelope()
            envelope.deliver.producer = 0
            for seq, row in first_round:
                m = envelope.deliver.messages.add()
                m.seq = seq
                m.message.CopyFrom(row.message)
            await p1.append(envelope)
        lock = tables.get_lock(p1.store, "Counter", callee_key)
        statuses = [p1.status(s) for s in sends]
        assert [s.phase if s else None for s in statuses] == [st.INVOKED, st.INBOXED, st.INBOXED]
        assert lock.inbox_tail - lock.inbox_head == 2  # queued once each, in send order
        proposer = SettlingProposer(p0)
        assert await Shuffle(0, p0.store, proposer, deliverer).deliver_once() == 3
        await proposer.settle()
        assert tables.get_lock(p1.store, "Counter", callee_key) == lock  # nothing new
        assert p0.outbox() == []


async def test_attach_and_cancel_reach_an_invocation_on_another_partition(tmp_path: Path) -> None:
    async with two_partitions(tmp_path) as (p0, p1):
        deliverer = TwiceDeliverer()
        deliverer.partitions = {0: p0, 1: p1}
        proposers = [SettlingProposer(p) for p in (p0, p1)]
        shuffles = [Shuffle(p.id, p.store, proposers[p.id], deliverer) for p in (p0, p1)]

        async def shuffle(p: Partition) -> None:
            await shuffles[p.id].deliver_once()
            await proposers[p.id].settle()

        target_key = key_on(1)
        target = ids.deterministic_invocation_id("Counter", target_key, "add", "t")
        await p1.append(
            rec.Envelope(
                invoke=rec.Invoke(
                    invocation_id=target, service="Counter", handler="add", key=target_key
                )
            )
        )
        waiter = ids.random_invocation_id(key_on(0))
        await p0.append(
            rec.Envelope(
                invoke=rec.Invoke(invocation_id=waiter, service="Greeter", handler="greet")
            )
        )
        attach = pb.JournalEntry(attach_invocation=pb.AttachInvocation(invocation_id=target))
        await p0.append(effect(waiter, 1, attach))
        cancel = pb.JournalEntry(cancel_invocation=pb.CancelInvocation(invocation_id=target))
        await p0.append(effect(waiter, 2, cancel))
        await shuffle(p0)
        status = p1.status(target)
        assert status is not None and status.cancel_requested
        assert [(e.invocation_id, e.index) for e in status.attached_entries] == [(waiter, 1)]

        failure = pb.Result(failure=pb.Failure(code=409, message="cancelled"))
        await p1.append(effect(target, 1, pb.JournalEntry(output=pb.Output(result=failure))))
        await shuffle(p1)
        entry = tables.get_journal_entry(p0.store, waiter, 1)
        assert entry is not None and entry.completion == failure
        assert entry.completion_invocation_id == target
        assert p0.outbox() == [] and p1.outbox() == []
