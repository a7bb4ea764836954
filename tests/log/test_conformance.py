"""The log contract (log/api.py), checked against every implementation (MemoryLog, RaftLog)."""

from __future__ import annotations

import asyncio
import itertools
import os
import time

import pytest

from log.api import Closed, Entry, Log, Trimmed
from tests.log.support import nothing_arrives, take, take_until


async def append_all(log: Log, records: list[bytes]) -> list[int]:
    return [await log.append(record) for record in records]


async def test_appends_return_strictly_increasing_positions(log: Log) -> None:
    lsns = await append_all(log, [b"r%d" % i for i in range(50)])
    assert all(a < b for a, b in itertools.pairwise(lsns))


async def test_a_started_log_leads(log: Log) -> None:
    assert log.is_leader()
    assert await log.wait_leader(1.0)


async def test_concurrent_appends_each_commit_once_in_each_callers_order(log: Log) -> None:
    callers, per_caller = 16, 40

    async def caller(c: int) -> list[tuple[int, bytes]]:
        out = []
        for i in range(per_caller):
            record = b"c%d-%d" % (c, i)
            out.append((await log.append(record), record))
        return out

    results = await asyncio.gather(*(caller(c) for c in range(callers)))
    acked = {lsn: record for result in results for lsn, record in result}
    assert len(acked) == callers * per_caller  # every position distinct
    for result in results:
        lsns = [lsn for lsn, _ in result]
        assert lsns == sorted(lsns)  # one caller's records commit in call order

    entries = await take_until(log.read(0), max(acked))
    assert [e.record for e in entries] == [acked[e.lsn] for e in entries]
    assert sorted(acked) == [e.lsn for e in entries]


async def test_unawaited_appends_from_one_caller_commit_in_call_order(log: Log) -> None:
    futures = [asyncio.ensure_future(log.append(b"%d" % i)) for i in range(200)]
    lsns = await asyncio.gather(*futures)
    assert lsns == sorted(lsns)
    entries = await take_until(log.read(0), lsns[-1])
    assert [e.record for e in entries] == [b"%d" % i for i in range(200)]


async def test_read_from_zero_yields_every_record_in_order(log: Log) -> None:
    records = [b"a", b"", b"c" * 1000]
    lsns = await append_all(log, records)
    assert await take(log.read(0), 3) == [
        Entry(lsn, r) for lsn, r in zip(lsns, records, strict=True)
    ]


async def test_read_from_a_position_starts_there(log: Log) -> None:
    lsns = await append_all(log, [b"r%d" % i for i in range(10)])
    entries = await take(log.read(lsns[6]), 4)
    assert [e.lsn for e in entries] == lsns[6:]
    between = await take(log.read(lsns[6] + 1), 3)  # not a position: the next record
    assert [e.lsn for e in between] == lsns[7:]


async def test_tail_waits_for_new_records(log: Log) -> None:
    first = await log.append(b"old")
    tail = log.read(first + 1)
    assert await nothing_arrives(tail)
    lsn = await log.append(b"new")
    assert await take(tail, 1) == [Entry(lsn, b"new")]
    pending = asyncio.ensure_future(take(tail, 2))
    lsns = await append_all(log, [b"x", b"y"])
    assert [e.lsn for e in await pending] == lsns


async def test_every_reader_sees_every_record(log: Log) -> None:
    readers = [log.read(0) for _ in range(5)]
    waiting = [asyncio.ensure_future(take(r, 20)) for r in readers]
    lsns = await append_all(log, [b"%d" % i for i in range(20)])
    for result in await asyncio.gather(*waiting):
        assert [e.lsn for e in result] == lsns


async def test_read_after_trim_yields_what_remains(log: Log) -> None:
    lsns = await append_all(log, [b"r%d" % i for i in range(10)])
    await log.trim(lsns[4])
    entries = await take(log.read(lsns[4] + 1), 5)
    assert [e.record for e in entries] == [b"r%d" % i for i in range(5, 10)]
    with pytest.raises(Trimmed):
        await anext(log.read(0))
    with pytest.raises(Trimmed):
        await anext(log.read(lsns[4]))
    later = await log.append(b"later")
    assert (await take(log.read(lsns[5]), 6))[-1] == Entry(later, b"later")


async def test_reader_behind_a_trim_is_told(log: Log) -> None:
    lsns = await append_all(log, [b"r%d" % i for i in range(10)])
    reader = log.read(0)
    await take(reader, 2)
    await log.trim(lsns[5])
    with pytest.raises(Trimmed):
        await anext(reader)


async def test_close_refuses_appends_and_ends_readers(log: Log) -> None:
    await log.append(b"before")
    tail = log.read(0)
    await take(tail, 1)
    waiting = asyncio.ensure_future(anext(tail))
    await log.close()
    with pytest.raises(Closed):
        await log.append(b"after")
    with pytest.raises(Closed):
        await waiting
    assert not log.is_leader()
    await log.close()  # idempotent


async def test_large_records_round_trip(log: Log) -> None:
    records = [os.urandom(1 << 20) for _ in range(4)]
    lsns = await asyncio.gather(*(log.append(r) for r in records))
    entries = await take(log.read(0), 4)
    assert [e.lsn for e in entries] == sorted(lsns)
    by_lsn = dict(zip(lsns, records, strict=True))
    assert all(e.record == by_lsn[e.lsn] for e in entries)


async def test_many_small_records_commit_quickly(log: Log) -> None:
    started = time.perf_counter()
    lsns = await asyncio.gather(*(log.append(b"small-%05d" % i) for i in range(20_000)))
    elapsed = time.perf_counter() - started
    assert lsns == sorted(set(lsns))
    entries = await take(log.read(0), 20_000)
    assert [e.record for e in entries] == [b"small-%05d" % i for i in range(20_000)]
    assert elapsed < 5.0, f"20k appends took {elapsed:.2f} s"


async def test_read_batches_yields_what_is_available_at_once_in_order(log: Log) -> None:
    lsns = await append_all(log, [b"b%d" % i for i in range(10)])
    batches = log.read_batches(lsns[2], 5)
    first = await asyncio.wait_for(anext(batches), 5)
    second = await asyncio.wait_for(anext(batches), 5)
    assert [e.lsn for e in first] == lsns[2:7]
    assert [e.lsn for e in second] == lsns[7:10]
    pending = asyncio.ensure_future(anext(batches))
    await asyncio.sleep(0.01)
    assert not pending.done()  # a tail: waits for the next record
    lsn = await log.append(b"late")
    assert [e.lsn for e in await asyncio.wait_for(pending, 5)] == [lsn]
