"""A leader that was deposed keeps running its attempts until it applies the announcement that
deposed it; what those attempts propose meanwhile still lands in the log, after the new
leader's announcement. Found by the simulation (`python -m sim --seed 37`).

Two members of one partition share a log; their leader units get a recording invoker (the
leader unit's invoker seam) instead of the gRPC one, so the test sees exactly which actions
each leader carries out.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

from log.memory import MemoryLog
from node import invoker as invoker_mod
from node import leader
from node.clock import Clock
from node.processor import PartitionProcessor
from node.proposer import Proposer
from partition import tables
from partition.schema import Schema
from partition.state_machine import StateMachine
from partition.store import Store
from perdure_proto import protocol_pb2 as pb
from perdure_proto import records_pb2 as rec
from tests.node.recording import RecordingInvoker
from tests.partition.scenario import manifest


@dataclass
class Member:
    name: str
    store: Store
    processor: PartitionProcessor
    invokers: list[RecordingInvoker]

    def make_invoker(
        self,
        store: Store,
        proposer: Proposer,
        schema: Schema,
        options: invoker_mod.Options,
        *,
        tasks: asyncio.TaskGroup,
        clock: Clock,
    ) -> RecordingInvoker:
        """One recorder per leadership of this member."""
        self.invokers.append(RecordingInvoker())
        return self.invokers[-1].make(store, proposer, schema, options, tasks=tasks, clock=clock)


@asynccontextmanager
async def two_members(tmp_path: Path) -> AsyncIterator[tuple[MemoryLog, Member, Member]]:
    log_ = MemoryLog()
    await log_.start()
    async with AsyncExitStack() as stack:
        members = []
        for name in ("a", "b"):
            store = Store(tmp_path / name)
            stack.callback(store.close)
            invokers: list[RecordingInvoker] = []
            member = Member(name, store, None, invokers)  # type: ignore[arg-type]
            member.processor = PartitionProcessor(
                log_,
                store,
                StateMachine(store),
                Proposer(log_),
                name,
                1,
                lambda: None,
                leader.Options(),
                invoker_factory=member.make_invoker,
            )
            task = asyncio.create_task(member.processor.run(), name=f"processor-{name}")
            stack.push_async_callback(_cancel, task)
            members.append(member)
        yield log_, members[0], members[1]


async def _cancel(task: asyncio.Task[None]) -> None:
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)


async def append(log_: MemoryLog, members: tuple[Member, ...], envelope: rec.Envelope) -> None:
    envelope.timestamp_ms = envelope.timestamp_ms or 1_000
    lsn = await log_.append(envelope.SerializeToString())
    for member in members:
        await member.processor.wait_applied(lsn, timeout=10)


def run_effect(invocation_id: str, index: int, value: bytes, leadership: int) -> rec.Envelope:
    """An effect as the leader unit of leadership number `leadership` proposes it (0: left for
    the proposer to stamp)."""
    envelope = rec.Envelope(leadership=leadership)
    effect = envelope.invoker_effect
    effect.invocation_id = invocation_id
    effect.attempt = 1
    effect.deployment_id = "dp_1"
    entry = pb.JournalEntry(run=pb.Run(result=pb.Result(value=value)))
    effect.commands.add(index=index, entry=entry)
    return envelope


async def test_a_new_leaders_attempt_is_not_told_a_deposed_leaders_step_is_its_own(
    tmp_path: Path,
) -> None:
    async with two_members(tmp_path) as (log_, a, b):
        both = (a, b)
        register = rec.RegisterDeployment(
            deployment_id="dp_1", uri="http://127.0.0.1:9", manifest=manifest()
        )
        await append(log_, both, rec.Envelope(register_deployment=register))
        await append(
            log_, both, rec.Envelope(announce_leader=rec.AnnounceLeader(leader_id="a", epoch=1))
        )
        invoke = rec.Invoke(invocation_id="inv_1", service="Greeter", handler="greet")
        await append(log_, both, rec.Envelope(invoke=invoke))
        assert a.invokers[-1].invoked == ["inv_1"]

        # b takes over and resumes inv_1 from its store: nothing journaled yet.
        await append(
            log_, both, rec.Envelope(announce_leader=rec.AnnounceLeader(leader_id="b", epoch=1))
        )
        assert b.invokers[-1].invoked == ["inv_1"]
        status = tables.get_status(b.store, "inv_1")
        assert status is not None and status.journal_length == 0

        # a's attempt ran step 1 before a learned it was deposed: its effect lands now.
        await append(log_, both, run_effect("inv_1", 1, b"a's result", 1))
        # b's attempt ran the same step (its Start had no entry 1) and sends its own result.
        await append(log_, both, run_effect("inv_1", 1, b"b's result", 2))

        entry = tables.get_journal_entry(b.store, "inv_1", 1)
        assert entry is not None
        journaled = entry.run.result.value
        acked = [index for inv, index in b.invokers[-1].acks if inv == "inv_1"]
        # An Ack lets the SDK hand a run's result to the handler: b's attempt may be told that
        # step 1 is durable only if what is journaled there is its own result.
        assert not (acked and journaled != b"b's result"), (
            f"b's attempt was acknowledged up to {max(acked)} while step 1 holds {journaled!r}: "
            "its handler goes on with a result that the journal (and every replay) does not have"
        )


async def test_what_a_leader_unit_proposes_is_refused_once_it_is_deposed(tmp_path: Path) -> None:
    async with two_members(tmp_path) as (log_, a, b):
        both = (a, b)
        register = rec.RegisterDeployment(
            deployment_id="dp_1", uri="http://127.0.0.1:9", manifest=manifest()
        )
        await append(log_, both, rec.Envelope(register_deployment=register))
        await append(
            log_, both, rec.Envelope(announce_leader=rec.AnnounceLeader(leader_id="a", epoch=1))
        )
        invoke = rec.Invoke(invocation_id="inv_1", service="Greeter", handler="greet")
        await append(log_, both, rec.Envelope(invoke=invoke))
        proposer = a.invokers[-1].proposer
        assert proposer is not None

        # While a leads, its unit's effects apply.
        effect = run_effect("inv_1", 1, b"a's", leadership=0)  # stamped by the proposer
        lsn = await proposer.propose(effect)
        for member in both:
            await member.processor.wait_applied(lsn, timeout=10)
        status = tables.get_status(b.store, "inv_1")
        assert status is not None and status.journal_length == 1

        # Deposed: the same unit's next effect is refused by every replica.
        await append(
            log_, both, rec.Envelope(announce_leader=rec.AnnounceLeader(leader_id="b", epoch=1))
        )
        lsn = await proposer.propose(run_effect("inv_1", 2, b"late", leadership=0))
        for member in both:
            await member.processor.wait_applied(lsn, timeout=10)
            status = tables.get_status(member.store, "inv_1")
            assert status is not None and status.journal_length == 1, member.name
