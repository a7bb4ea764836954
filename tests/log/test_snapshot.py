"""A member behind the others' compaction point resumes its log after a snapshot's log point:
`log_point` (sender), `DurableJournal.install` (receiver), and both with real Raft members."""

from __future__ import annotations

import asyncio
import shutil
from pathlib import Path

import pytest

from log.api import SnapshotNeeded
from log.journal import STUB, DurableJournal, JournalError
from log.lsn import make_lsn
from log.raft import RaftLog
from log.snapshot import LogPoint, NoLogPoint, install_log_point, log_point
from tests.log.support import take_until
from tests.log.test_compaction import _three_members, append_on_leader
from tests.log.test_raft import find_leader


def journal_of(path: Path, last: int, term: int = 2) -> DurableJournal:
    journal = DurableJournal(path)
    journal.setCurrentTerm(term, None)
    for i in range(1, last + 1):
        journal.add(b"\x00cmd-%d" % i, i, term if i > 3 else 1)
    return journal


def test_log_point_resumes_before_the_entry_the_lsn_is_in(tmp_path: Path) -> None:
    journal = journal_of(tmp_path, 10)
    try:
        # State through record 3 of entry 7: entries 1-6 hold only older records.
        assert log_point(journal, make_lsn(7, 3)) == LogPoint(make_lsn(7, 3), 6, 2, 2)
        assert log_point(journal, make_lsn(4, 0)) == LogPoint(make_lsn(4, 0), 3, 1, 1)
    finally:
        journal.close()


def test_log_point_is_never_below_the_senders_compaction_point(tmp_path: Path) -> None:
    journal = journal_of(tmp_path, 10)
    try:
        journal.store_trimmed(make_lsn(8, 0))
        journal.compact(7)
        # A member compacted below 7 would be sent the manifest again, not entry 7.
        assert log_point(journal, make_lsn(8, 5)).through == 7
        with pytest.raises(NoLogPoint, match="trimmed"):  # state older than the trim point
            log_point(journal, make_lsn(7, 9))
    finally:
        journal.close()


def test_install_on_an_empty_journal_leaves_two_stubs(tmp_path: Path) -> None:
    point = LogPoint(make_lsn(12, 4), 11, 3, 4)
    install_log_point(tmp_path, point)
    install_log_point(tmp_path, point)  # idempotent (a crash before the marker went)
    journal = DurableJournal(tmp_path)
    try:
        assert journal[:] == [(STUB, 10, 3), (STUB, 11, 4)]
        assert journal.compacted_index == 11 and journal.trimmed_lsn == point.lsn
    finally:
        journal.close()


def test_install_drops_older_or_diverged_entries_and_keeps_matching_ones(tmp_path: Path) -> None:
    journal = journal_of(tmp_path / "behind", 5)  # holds 1..5, the snapshot resumes after 8
    journal.install(8, 2, 2, make_lsn(9, 0))
    assert journal[:] == [(STUB, 7, 2), (STUB, 8, 2)]
    journal.close()

    journal = journal_of(tmp_path / "ahead", 10)  # holds entry 8 in the same term: compact
    journal.install(8, 2, 2, make_lsn(9, 0))
    assert [e[1] for e in journal[:]] == [7, 8, 9, 10] and journal[2][0] != STUB
    journal.close()

    journal = journal_of(tmp_path / "diverged", 10)  # entry 8 of another term: never committed
    journal.install(8, 2, 5, make_lsn(9, 0))
    assert journal[:] == [(STUB, 7, 2), (STUB, 8, 5)]
    with pytest.raises(JournalError, match="past raft index 1"):
        journal.install(1, 0, 1, 0)
    journal.close()


async def test_a_member_behind_the_compaction_point_resumes_after_a_log_point(
    tmp_path: Path,
) -> None:
    """The log's side of a snapshot install with real members: the member that failed with
    `SnapshotNeeded` resumes after the point the leader gives for its applied LSN, reads every
    later record exactly once, and takes part in the group again."""
    options = _three_members(tmp_path)
    logs = [RaftLog(o) for o in options]
    try:
        await asyncio.gather(*(log.start() for log in logs))
        leader = await find_leader(logs)
        behind = next(i for i, log in enumerate(logs) if log is not leader)
        await logs[behind].close()
        shutil.rmtree(options[behind].data_dir)  # wiped
        lsns = [await leader.append(b"missed %d" % i) for i in range(20)]
        for log in logs:
            if log is not logs[behind]:
                await take_until(log.read(0), lsns[-1])
                await log.trim(lsns[9])  # compacted past everything the wiped member has

        logs[behind] = RaftLog(options[behind])
        with pytest.raises(SnapshotNeeded) as needed:
            await logs[behind].start()
        assert needed.value.leader == leader.status().self_address
        assert needed.value.min_lsn == lsns[9]
        await logs[behind].close()

        # A snapshot of the leader's state as applied through record 14 (its store's position).
        point = await leader.snapshot_point(lsns[14])
        assert point.lsn == lsns[14]
        install_log_point(options[behind].data_dir, point)
        logs[behind] = RaftLog(options[behind])
        await logs[behind].start()
        later = await append_on_leader(logs, b"later")
        got = await take_until(logs[behind].read(lsns[14] + 1), later)
        assert [e.record for e in got] == [b"missed %d" % i for i in range(15, 20)] + [b"later"]
        with pytest.raises(NoLogPoint):  # the leader trimmed past it: a newer snapshot is needed
            await leader.snapshot_point(lsns[5])
    finally:
        for log in logs:
            await log.close()
