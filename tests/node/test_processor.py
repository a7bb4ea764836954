"""The partition processor's bookkeeping, on a real RocksDB store and the in-memory log:
a record is applied once, across restarts, and the log forgets nothing the store has not
synced."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from log.api import Log
from log.memory import MemoryLog
from node import leader, metrics
from node.clock import SYSTEM, Clock, SystemClock
from node.processor import PartitionProcessor
from node.proposer import Proposer
from node.shuffle import Deliverer
from partition import actions as act
from partition import context, ids, tables
from partition.routing import Partitioning
from partition.state_machine import StateMachine
from partition.store import Store
from perdure_proto import protocol_pb2 as pb
from perdure_proto import records_pb2 as rec
from perdure_proto import storage_pb2 as st
from tests.node.recording import RecordingInvoker
from tests.partition.scenario import manifest

BOUND = 5.0  # seconds for anything here to be applied or to happen (milliseconds normally)


class CountingStateMachine(StateMachine):
    """The real state machine, counting the records it is given (by log position order)."""

    def __init__(self, store: Store, options: context.Options | None = None) -> None:
        super().__init__(store, options)
        self.applied: list[bytes] = []

    def apply(self, txn: tables.Writer, record: bytes) -> list[act.Action]:
        self.applied.append(record)
        return super().apply(txn, record)


@dataclass
class Events:
    """What happened to the store and the log, in order: ("sync", store's applied position)
    and ("trim", up to)."""

    seen: list[tuple[str, int]] = field(default_factory=list)


class RecordingStore(Store):
    def __init__(self, path: Path, events: Events) -> None:
        super().__init__(path)
        self._events = events

    def sync(self) -> None:
        super().sync()
        self._events.seen.append(("sync", self.applied_lsn() or 0))


class RecordingLog(MemoryLog):
    def __init__(self, events: Events) -> None:
        super().__init__()
        self._events = events

    async def trim(self, up_to: int) -> None:
        self._events.seen.append(("trim", up_to))
        await super().trim(up_to)


def register() -> bytes:
    return rec.Envelope(
        timestamp_ms=1_000,
        register_deployment=rec.RegisterDeployment(
            deployment_id="dp_1", uri="http://127.0.0.1:9", manifest=manifest()
        ),
    ).SerializeToString()


def send(n: int) -> bytes:
    return rec.Envelope(
        timestamp_ms=1_000 + n,
        invoke=rec.Invoke(
            invocation_id=f"inv_1send{n}",
            service="Counter",
            handler="add",
            key=f"k{n % 7}",
            input=b"1",
            mode=rec.SEND,
        ),
    ).SerializeToString()


@asynccontextmanager
async def processing(
    log_: Log,
    store: Store,
    trim_every: int = 4096,
    clock: Clock = SYSTEM,
    invoker_factory: leader.InvokerFactory = leader.DEFAULT_INVOKER,
    partitioning: Partitioning | None = None,
    deliverer: Deliverer | None = None,
    replicated: bool = False,
) -> AsyncIterator[tuple[PartitionProcessor, CountingStateMachine]]:
    """A processor of member "node-a" at epoch 1 applying `log_` into `store` (it leads only
    once the log announces it) for group 0 of `partitioning`; fails the test if the processor
    stopped by itself."""
    options = (
        context.Options() if partitioning is None else context.Options(partitioning=partitioning)
    )
    sm = CountingStateMachine(store, options)
    processor = PartitionProcessor(
        log_,
        store,
        sm,
        Proposer(log_),
        "node-a",
        1,
        lambda: None,
        leader.Options(),
        clock=clock,
        trim_every=trim_every,
        deliverer=deliverer,
        invoker_factory=invoker_factory,
        replicated=replicated,
    )
    task = asyncio.create_task(processor.run(), name="processor")
    test = asyncio.current_task()
    done_with_it = False

    def stopped(_: asyncio.Task[None]) -> None:
        if not done_with_it and test is not None:
            test.cancel()  # a processor that dies ends the test now, not at its next timeout

    task.add_done_callback(stopped)
    try:
        yield processor, sm
    finally:
        done_with_it = True
        if task.done():
            task.result()  # raises what stopped it
            raise AssertionError("the processor stopped by itself")
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)


async def append_all(log_: Log, records: list[bytes]) -> int:
    lsn = 0
    for record in records:
        lsn = await log_.append(record)
    return lsn


async def test_a_batch_stores_the_position_of_its_last_record(tmp_path: Path) -> None:
    log_ = MemoryLog()
    await log_.start()
    last = await append_all(log_, [register()] + [send(n) for n in range(20)])
    store = Store(tmp_path / "store")
    async with processing(log_, store) as (processor, sm):
        await processor.wait_applied(last, timeout=BOUND)
        assert len(sm.applied) == last  # one batch of every record, applied once
    assert store.applied_lsn() == last
    store.close()


async def test_a_restart_applies_no_record_twice(tmp_path: Path) -> None:
    log_ = MemoryLog()
    await log_.start()
    records = [register()] + [send(n) for n in range(30)]
    first = await append_all(log_, records[:12])
    store = Store(tmp_path / "store")
    async with processing(log_, store) as (processor, sm):
        await processor.wait_applied(first, timeout=BOUND)
        last = await append_all(log_, records[12:])
        await processor.wait_applied(last, timeout=BOUND)
        assert sm.applied == records
    store.close()

    store = Store(tmp_path / "store")  # as after a crash: the store and the log remain
    async with processing(log_, store) as (processor, sm):
        extra = await log_.append(send(99))
        await processor.wait_applied(extra, timeout=BOUND)
        assert sm.applied == [send(99)]  # only the new record; none of the 31 again
        assert store.applied_lsn() == extra
    store.close()


async def test_the_log_is_trimmed_only_up_to_what_the_store_has_synced(tmp_path: Path) -> None:
    events = Events()
    log_ = RecordingLog(events)
    await log_.start()
    store = RecordingStore(tmp_path / "store", events)
    async with processing(log_, store, trim_every=8) as (processor, _):
        for n in range(5):
            last = await append_all(log_, [send(10 * n + i) for i in range(9)])
            await processor.wait_applied(last, timeout=BOUND)
    store.close()
    store = RecordingStore(tmp_path / "store", events)  # a restart trims what the store holds
    async with processing(log_, store, trim_every=8) as (processor, _):
        extra = await log_.append(send(99))
        await processor.wait_applied(extra, timeout=BOUND)
    assert ("trim", last) in events.seen[-3:], events.seen
    trims = [(i, lsn) for i, (kind, lsn) in enumerate(events.seen) if kind == "trim"]
    assert len(trims) >= 4, events.seen
    synced = [(i, lsn) for i, (kind, lsn) in enumerate(events.seen) if kind == "sync"]
    for at, up_to in trims:
        assert any(i < at and lsn >= up_to for i, lsn in synced), (
            f"trim to {up_to} without a sync of the store covering it: {events.seen}"
        )
    store.close()


def test_sync_makes_rocksdb_sync_its_write_ahead_log(tmp_path: Path) -> None:
    store = Store(tmp_path / "store", statistics=True)
    txn = store.transaction()
    txn.put(b"k", b"v")
    txn.commit(1)
    before = store.wal_syncs()
    store.sync()
    assert store.wal_syncs() == before + 1  # RocksDB's own count of WAL fsyncs
    store.close()


def test_commits_alone_do_not_sync(tmp_path: Path) -> None:
    # The hot path stays unsynced (the log is the durable copy): only `sync` pays for it.
    store = Store(tmp_path / "store", statistics=True)
    for n in range(1, 50):
        txn = store.transaction()
        txn.put(b"k%d" % n, b"v")
        txn.commit(n)
    assert store.wal_syncs() == 0
    store.close()


def announce(leader_id: str, epoch: int) -> bytes:
    return rec.Envelope(
        timestamp_ms=1_000, announce_leader=rec.AnnounceLeader(leader_id=leader_id, epoch=epoch)
    ).SerializeToString()


async def test_only_this_members_announcement_at_its_epoch_starts_its_leader_unit(
    tmp_path: Path,
) -> None:
    log_ = MemoryLog()
    await log_.start()
    store = Store(tmp_path / "store")
    async with processing(log_, store) as (processor, _):  # this member: node-a, epoch 1
        await processor.wait_applied(await append_all(log_, [register()]), timeout=BOUND)
        tasks_before = len(asyncio.all_tasks())
        for other in (announce("node-a", 2), announce("node-b", 1)):
            await processor.wait_applied(await log_.append(other), timeout=BOUND)
            assert not processor.active and processor.leader_unit is None

        await processor.wait_applied(await log_.append(announce("node-a", 1)), timeout=BOUND)
        unit = processor.leader_unit
        assert processor.active and unit is not None
        await processor.wait_applied(await log_.append(announce("node-a", 1)), timeout=BOUND)
        # Announced again: a new leadership, so a new unit (the old one's proposals would be
        # refused as an earlier leadership's).
        assert processor.active and processor.leader_unit is not unit

        await processor.wait_applied(await log_.append(announce("node-b", 2)), timeout=BOUND)
        assert not processor.active and processor.leader_unit is None
        assert len(asyncio.all_tasks()) == tasks_before  # the unit's tasks ended with it
    store.close()


class HourAhead(SystemClock):
    """The wall clock one hour ahead: a timer due in half an hour is already due."""

    def now_ms(self) -> int:
        return super().now_ms() + 3_600_000


async def test_a_new_leader_fires_a_timer_registered_before_it_led_on_the_processors_clock(
    tmp_path: Path,
) -> None:
    # The delayed send is applied before this member leads, so its RegisterTimer action is
    # skipped; the leader unit finds the timer in the store and fires it through the log, by
    # the clock the processor was given (by the system's, it would be due in half an hour).
    log_ = MemoryLog()
    await log_.start()
    store = Store(tmp_path / "store")
    now = SYSTEM.now_ms()
    delayed = rec.Envelope(
        timestamp_ms=now,
        invoke=rec.Invoke(
            invocation_id="inv_1delayed",
            service="Counter",
            handler="add",
            key="k",
            input=b"1",
            mode=rec.SEND,
            execution_time_ms=now + 1_800_000,
        ),
    ).SerializeToString()
    invoker = RecordingInvoker()
    async with processing(log_, store, clock=HourAhead(), invoker_factory=invoker.make) as (
        processor,
        _,
    ):
        await processor.wait_applied(await append_all(log_, [register(), delayed]), timeout=BOUND)
        status = tables.get_status(store, "inv_1delayed")
        assert status is not None and status.phase == st.SCHEDULED
        await processor.wait_applied(await log_.append(announce("node-a", 1)), timeout=BOUND)
        async with asyncio.timeout(BOUND):
            while (status := tables.get_status(store, "inv_1delayed")) is None or (
                status.phase == st.SCHEDULED
            ):
                await processor.wait_applied((processor.applied_lsn or 0) + 1, timeout=BOUND)
        assert status.phase == st.INVOKED
        await processor.wait_applied(processor.applied_lsn or 0, timeout=BOUND)
        assert invoker.invoked == ["inv_1delayed"]  # the leader's invoker starts it
        assert invoker.schema is not None  # knowing the registered services
        assert invoker.schema.handler("Counter", "add") is not None
        output = rec.Envelope(timestamp_ms=now)
        output.invoker_effect.invocation_id = "inv_1delayed"
        output.invoker_effect.attempt = 1
        output.invoker_effect.commands.add(
            index=1, entry=pb.JournalEntry(output=pb.Output(result=pb.Result(value=b"1")))
        )
        await processor.wait_applied(await log_.append(output.SerializeToString()), timeout=BOUND)
        assert invoker.ended_ == ["inv_1delayed"]  # and hears that it ended
    store.close()


async def test_the_log_is_trimmed_every_trim_every_applied_records(tmp_path: Path) -> None:
    events = Events()
    log_ = RecordingLog(events)
    await log_.start()
    store = Store(tmp_path / "store")
    async with processing(log_, store, trim_every=4) as (processor, _):
        for n in range(9):  # one record per batch: the count runs across batches
            await processor.wait_applied(await log_.append(send(n)), timeout=BOUND)
    assert [lsn for kind, lsn in events.seen if kind == "trim"] == [4, 8]
    store.close()


def safe_trim(up_to: int) -> bytes:
    return rec.Envelope(safe_trim=rec.SafeTrim(up_to_lsn=up_to)).SerializeToString()


async def test_a_replicated_member_trims_no_further_than_every_member_holds(
    tmp_path: Path,
) -> None:
    events = Events()
    log_ = RecordingLog(events)
    await log_.start()
    store = Store(tmp_path / "store")
    async with processing(log_, store, trim_every=4, replicated=True) as (processor, _):
        for n in range(5):  # no SafeTrim yet: nothing is trimmed
            await processor.wait_applied(await log_.append(send(n)), timeout=BOUND)
        assert [lsn for kind, lsn in events.seen if kind == "trim"] == []
        await processor.wait_applied(await log_.append(safe_trim(3)), timeout=BOUND)
        for n in range(5, 8):
            await processor.wait_applied(await log_.append(send(n)), timeout=BOUND)
        await processor.wait_applied(await log_.append(safe_trim(100)), timeout=BOUND)
        for n in range(8, 12):
            await processor.wait_applied(await log_.append(send(n)), timeout=BOUND)
    # Trims come every 4 applied records (SafeTrim records count): at 4 nothing is known to be
    # safe; at 8 the store holds 8 but every member only 3; at 12 the store's 12 bounds it.
    assert [lsn for kind, lsn in events.seen if kind == "trim"] == [3, 12]
    store.close()


async def test_wait_applied_waits_for_the_position_and_no_longer_than_its_timeout(
    tmp_path: Path,
) -> None:
    log_ = MemoryLog()
    await log_.start()
    store = Store(tmp_path / "store")
    async with processing(log_, store) as (processor, _):
        first = await log_.append(register())
        later = asyncio.create_task(processor.wait_applied(first + 1, timeout=5))
        await processor.wait_applied(first, timeout=5)
        await asyncio.sleep(0.05)
        assert not later.done()  # the next position is not there yet
        await log_.append(send(1))
        await asyncio.wait_for(later, 5)
        loop = asyncio.get_running_loop()
        started = loop.time()
        async with asyncio.timeout(5):
            with pytest.raises(TimeoutError):
                await processor.wait_applied(9, timeout=0.2)
        assert 0.15 <= loop.time() - started < 2
        with pytest.raises(TimeoutError, match=r"log position 9 was not applied within 0 s"):
            await processor.wait_applied(9, timeout=0)
    store.close()


async def test_apply_durations_are_recorded_in_seconds_per_batch(tmp_path: Path) -> None:
    def observed() -> tuple[float, float]:
        count = sum_ = 0.0
        for metric in metrics.PARTITION_APPLY_SECONDS.collect():
            for sample in metric.samples:
                if sample.name.endswith("_count"):
                    count = sample.value
                elif sample.name.endswith("_sum"):
                    sum_ = sample.value
        return count, sum_

    log_ = MemoryLog()
    await log_.start()
    store = Store(tmp_path / "store")
    count_before, sum_before = observed()
    async with processing(log_, store) as (processor, _):
        await processor.wait_applied(await log_.append(register()), timeout=BOUND)
        await processor.wait_applied(await log_.append(send(1)), timeout=BOUND)
    count, sum_ = observed()
    assert count - count_before == 2  # one observation per batch
    assert 0 < sum_ - sum_before < 1.0  # seconds, each well under one
    store.close()


class RecordingDeliverer:
    """The leader's way to other partitions (node.shuffle.Deliverer): records what it is given."""

    def __init__(self) -> None:
        self.delivered: list[tuple[int, rec.Envelope]] = []
        self.arrived = asyncio.Event()

    async def deliver(self, target: int, records: list[rec.Envelope]) -> None:
        self.delivered += [(target, envelope) for envelope in records]
        self.arrived.set()


async def test_a_leader_hands_messages_for_other_partitions_to_the_processors_deliverer(
    tmp_path: Path,
) -> None:
    two = Partitioning(partitions=24, groups=2)
    caller_key, callee_key = (
        next(k for n in range(1000) if two.group_of_key(ids.partition_key(k := f"k{n}")) == group)
        for group in (0, 1)
    )
    caller = ids.deterministic_invocation_id("Counter", caller_key, "add", "c")
    invoke = rec.Envelope(
        timestamp_ms=1_000,
        invoke=rec.Invoke(invocation_id=caller, service="Counter", handler="add", key=caller_key),
    )
    call = rec.Envelope(timestamp_ms=1_001)
    call.invoker_effect.invocation_id = caller
    call.invoker_effect.attempt = 1
    call.invoker_effect.commands.add(
        index=1,
        entry=pb.JournalEntry(call=pb.Call(service="Counter", handler="add", key=callee_key)),
    )
    log_ = MemoryLog()
    await log_.start()
    store = Store(tmp_path / "store")
    deliverer = RecordingDeliverer()
    async with processing(
        log_,
        store,
        invoker_factory=RecordingInvoker().make,
        partitioning=two,
        deliverer=deliverer,
    ) as (processor, _):
        records = [register(), invoke.SerializeToString(), call.SerializeToString()]
        await processor.wait_applied(await append_all(log_, records), timeout=BOUND)
        assert deliverer.delivered == []  # in the outbox until this member leads
        await processor.wait_applied(await log_.append(announce("node-a", 1)), timeout=BOUND)
        await asyncio.wait_for(deliverer.arrived.wait(), BOUND)
        target, envelope = deliverer.delivered[0]
        assert target == 1 and envelope.WhichOneof("command") == "deliver"
    store.close()


async def test_a_position_never_applied_times_out_naming_it(tmp_path: Path) -> None:
    log_ = MemoryLog()
    await log_.start()
    store = Store(tmp_path / "store")
    async with processing(log_, store) as (processor, _):
        with pytest.raises(TimeoutError, match=r"log position 99 was not applied within 0\.05 s"):
            await processor.wait_applied(99, timeout=0.05)
    store.close()
