"""`RaftLog.trim` compacts: pysyncobj's in-memory log and the journal stay bounded, restarts resume
after the trim point, members that keep up keep working, a member left behind fails loudly."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest

from log.api import Entry, NotLeader, SnapshotNeeded, Trimmed
from log.compaction import MANIFEST_FILE, Compaction, Manifest
from log.journal import STUB, DurableJournal
from log.lsn import make_lsn
from log.raft import RaftLog, RaftOptions
from tests.log.support import free_port, raft_options, take, take_until
from tests.log.test_raft import find_leader, started

TRIM_EVERY = 4096


async def test_trims_keep_pysyncobj_log_and_journal_bounded(tmp_path: Path) -> None:
    log = await started(raft_options(tmp_path))
    try:
        since_trim, most_entries, most_bytes, trims = 0, 0, 0, 0
        for start in range(0, 50_000, 100):  # 500 batches of 100 records
            records = [b"record-%05d-%s" % (i, b"x" * 100) for i in range(start, start + 100)]
            lsns = await asyncio.gather(*(log.append(r) for r in records))
            since_trim += len(lsns)
            stats = log.stats
            most_entries = max(most_entries, stats.raft_entries)
            most_bytes = max(most_bytes, stats.journal_bytes)
            if since_trim >= TRIM_EVERY:
                await log.trim(max(lsns))
                trims, since_trim = trims + 1, 0
                stats = log.stats
                assert stats.raft_entries <= 3, stats  # two stubs (+ a leader no-op at most)
                assert stats.journal_bytes < 1024, stats
                assert stats.buffered_records == 0, stats
        assert trims == 12
        assert most_entries <= TRIM_EVERY // 100 + 5  # ~42 batches between trims, not 500
        assert most_bytes < 2 * TRIM_EVERY * 130  # ~4k records of ~120 bytes, not 50k
        assert log.stats.compactions == trims
        assert log.stats.records_committed == 50_000
    finally:
        await log.close()


async def test_restart_after_trims_resumes_after_the_trim_point(tmp_path: Path) -> None:
    options = raft_options(tmp_path)
    log = await started(options)
    try:
        batches = [
            await asyncio.gather(*(log.append(b"b%d-%d" % (b, i)) for i in range(10)))
            for b in range(5)
        ]
        assert all(len({lsn >> 20 for lsn in batch}) == 1 for batch in batches)  # one entry each
        up_to = batches[2][3]  # inside the third batch: entries 1 and 2 go, the third stays
        await log.trim(up_to)
        assert log.stats.compacted_index == (up_to >> 20) - 1
    finally:
        await log.close()
    assert (tmp_path / MANIFEST_FILE).exists()
    expected = [
        Entry(lsn, b"b%d-%d" % (b, i)) for b in range(5) for i, lsn in enumerate(batches[b])
    ]
    expected = [e for e in expected if e.lsn > up_to]

    for _ in range(2):  # a restart, and a restart of the restarted log
        log = await started(options)
        try:
            assert log.stats.records_committed == 3 * 10  # the trimmed batches were not replayed
            for position in (0, batches[0][0], up_to):
                with pytest.raises(Trimmed):
                    await anext(log.read(position))
            assert await take(log.read(up_to + 1), len(expected)) == expected
        finally:
            await log.close()

    log = await started(options)
    try:
        later = await log.append(b"later")
        await log.trim(later)  # everything, then restart: nothing is left to replay
        assert log.stats.raft_entries <= 3
    finally:
        await log.close()
    log = await started(options)
    try:
        assert log.stats.records_committed == 0
        with pytest.raises(Trimmed):
            await anext(log.read(later))
        tail = log.read(later + 1)
        lsn = await log.append(b"after")
        assert await take(tail, 1) == [Entry(lsn, b"after")]
    finally:
        await log.close()


async def test_a_single_member_restarted_on_another_port_keeps_its_log(tmp_path: Path) -> None:
    """A single node given another Raft port: its compacted log's stored configuration named
    the old address, so the member never elected itself (a group of two, one gone). Alone, the
    address is only a name: it starts, as the member it is now, with every record."""
    log = await started(raft_options(tmp_path))
    try:
        lsns = [await log.append(b"r%d" % i) for i in range(6)]
        await log.trim(lsns[2])
        assert log.stats.compacted_index > 0
    finally:
        await log.close()
    moved = raft_options(tmp_path, start_timeout=5.0)  # another free port
    log = await started(moved)
    try:
        assert log.members() == (moved.self_address,)
        got = await take(log.read(lsns[2] + 1), 3)
        assert [e.record for e in got] == [b"r3", b"r4", b"r5"]
        assert await log.append(b"after") > lsns[-1]
    finally:
        await log.close()


async def test_concurrent_and_repeated_trims_all_return(tmp_path: Path) -> None:
    log = await started(raft_options(tmp_path))
    try:
        lsns = [await log.append(b"r%d" % i) for i in range(20)]
        await asyncio.gather(*(log.trim(lsn) for lsn in lsns[:10]))
        await log.trim(lsns[5])  # behind the last trim: nothing to do
        await log.trim(lsns[9])
        assert log.stats.compacted_index == lsns[9] >> 20
        assert [e.lsn for e in await take(log.read(lsns[9] + 1), 10)] == lsns[10:]
    finally:
        await log.close()


async def append_on_leader(logs: list[RaftLog], record: bytes, timeout: float = 5.0) -> int:
    """Append `record` through whichever member leads, retrying across leader changes (a test
    record: appending it twice would not matter)."""
    async with asyncio.timeout(timeout):
        while True:
            try:
                return await (await find_leader(logs)).append(record)
            except NotLeader:
                await asyncio.sleep(0.05)


def _three_members(tmp_path: Path) -> list[RaftOptions]:
    addresses = [f"127.0.0.1:{free_port()}" for _ in range(3)]
    return [
        RaftOptions(
            self_address=address,
            partners=tuple(a for a in addresses if a != address),
            data_dir=tmp_path / f"member{i}",
        )
        for i, address in enumerate(addresses)
    ]


async def test_three_members_that_keep_up_keep_working_with_trims(tmp_path: Path) -> None:
    options = _three_members(tmp_path)
    logs = [RaftLog(o) for o in options]
    try:
        await asyncio.gather(*(log.start() for log in logs))
        leader = await find_leader(logs)
        readers = [log.read(0) for log in logs]
        for round_ in range(6):
            records = [b"r%d-%d" % (round_, i) for i in range(300)]
            lsns = await asyncio.gather(*(leader.append(r) for r in records))
            for log, reader in zip(logs, readers, strict=True):  # each member trims on its own
                got = await take_until(reader, max(lsns))
                assert [e.record for e in got[-300:]] == records
                await log.trim(max(lsns))
        for log in logs:
            assert log.stats.raft_entries <= 4, log.stats
            assert log.stats.compacted_index > 0

        index = next(i for i, log in enumerate(logs) if log is not leader)
        await logs[index].close()  # a follower restarts; it missed nothing compacted
        logs[index] = RaftLog(options[index])
        await logs[index].start()  # (its return may start an election: find the leader again)
        later = await append_on_leader(logs, b"later")
        for log in logs:
            assert (await take_until(log.read(max(lsns) + 1), later))[-1] == Entry(later, b"later")
    finally:
        for log in logs:
            await log.close()


async def test_a_member_behind_the_compaction_point_fails_loudly(tmp_path: Path) -> None:
    options = _three_members(tmp_path)
    logs = [RaftLog(o) for o in options]
    try:
        await asyncio.gather(*(log.start() for log in logs))
        leader = await find_leader(logs)
        first = await leader.append(b"seen by all")
        for log in logs:
            await take_until(log.read(0), first)
        index = next(i for i, log in enumerate(logs) if log is not leader)
        await logs[index].close()  # this member misses what follows
        lsns = [await leader.append(b"missed %d" % i) for i in range(5)]
        for log in logs:
            if log is not logs[index]:
                await take_until(log.read(0), lsns[-1])
                await log.trim(lsns[-1])  # the leader compacts past what the member has

        logs[index] = RaftLog(options[index])
        with pytest.raises(SnapshotNeeded, match="needs a snapshot"):
            await logs[index].start()
        with pytest.raises(SnapshotNeeded):
            await logs[index].append(b"refused")
        survivors = [log for log in logs if log is not logs[index]]
        assert await append_on_leader(survivors, b"the others go on") > lsns[-1]
    finally:
        for log in logs:
            await log.close()


# --- Compaction on its own: what a member does with messages about compacted entries -----------


class Sent:
    def __init__(self) -> None:
        self.messages: list[dict[str, Any]] = []

    def __call__(self, message: dict[str, Any]) -> bool:
        self.messages.append(message)
        return True


def compacted_journal(path: Path, through: int) -> DurableJournal:
    journal = DurableJournal(path)
    journal.setCurrentTerm(2, None)
    for i in range(1, 11):
        journal.add(b"\x00cmd-%d" % i, i, 2)
    journal.compact(through)
    return journal


def compaction(journal: DurableJournal, path: Path) -> Compaction:
    return Compaction(
        journal,
        data_dir=path,
        member="m:1",
        partners=("m:2",),
        on_done=lambda ticket: None,
    )


def dump(index: int, term: int) -> dict[str, Any]:
    """The dump a leader compacted through `index` (of `term`) sends, in one chunk."""
    manifest = Manifest("m:2", index, term, make_lsn(index, 0), ("m:1", "m:2"))
    return {
        "type": "append_entries",
        "term": 2,
        "commit_index": 10,
        "serialized": (manifest.encode(), True, True),
    }


def test_a_dump_this_member_does_not_need_is_ignored(tmp_path: Path) -> None:
    journal = compacted_journal(tmp_path, 4)
    failures: list[Exception] = []
    journal.set_listeners(on_failure=failures.append, on_closed=lambda: None)
    screen = compaction(journal, tmp_path)
    try:
        sent = Sent()
        assert not screen.screen_incoming("m:2", dump(3, 2), sent)  # below my own compaction
        assert not screen.screen_incoming("m:2", dump(8, 2), sent)  # I hold entry 8, same term
        assert failures == [] and sent.messages == []
        assert not screen.screen_incoming("m:2", dump(8, 1), sent)  # my entry 8 is not theirs
        assert isinstance(failures[-1], SnapshotNeeded)
    finally:
        journal.close()


def test_a_dump_past_this_members_log_stops_it(tmp_path: Path) -> None:
    journal = compacted_journal(tmp_path, 4)
    failures: list[Exception] = []
    journal.set_listeners(on_failure=failures.append, on_closed=lambda: None)
    screen = compaction(journal, tmp_path)
    try:
        assert not screen.screen_incoming("m:2", dump(12, 2), Sent())
        assert len(failures) == 1 and isinstance(failures[0], SnapshotNeeded)
        assert "needs a snapshot" in str(failures[0])
        assert "through raft index 12" in str(failures[0])
        # What the node needs to fetch a snapshot: from whom, and how recent it must be.
        assert failures[0].leader == "m:2" and failures[0].min_lsn == make_lsn(12, 0)
    finally:
        journal.close()


def test_entries_below_the_compaction_point_are_answered_not_truncated(tmp_path: Path) -> None:
    journal = compacted_journal(tmp_path, 4)
    screen = compaction(journal, tmp_path)
    try:
        sent = Sent()
        stale = {"type": "append_entries", "term": 2, "commit_index": 10, "prevLogIdx": 3}
        assert not screen.screen_incoming("m:2", stale | {"prevLogTerm": 2, "entries": []}, sent)
        assert sent.messages == [
            {"type": "next_node_idx", "next_node_idx": 11, "reset": True, "success": False}
        ]
        current = stale | {"prevLogIdx": 4, "prevLogTerm": 2, "entries": []}
        assert screen.screen_incoming("m:2", current, sent)  # at the stubs: pysyncobj's
        assert screen.screen_incoming("m:2", stale | {"term": 1}, sent)  # stale leader: ignored
        assert len(journal) == 8
    finally:
        journal.close()


def test_a_stub_never_leaves_the_member(tmp_path: Path) -> None:
    journal = compacted_journal(tmp_path, 4)
    screen = compaction(journal, tmp_path)
    screen.prepare()
    try:
        message = {
            "type": "append_entries",
            "term": 2,
            "commit_index": 10,
            "entries": journal[1:],
            "prevLogIdx": 3,
            "prevLogTerm": 2,
        }
        assert journal[1][0] == STUB
        sent = screen.screen_outgoing("m:2", message)
        assert "entries" not in sent
        data, first, last = sent["serialized"]
        assert first and last
        assert Manifest.decode(data).compacted_index == 4
        assert screen.deserializer(str(screen.manifest_path)) == (
            journal[1],
            journal[0],
            ["m:2"],  # the configuration pysyncobj loads: the other members
        )
    finally:
        journal.close()
