"""DurableJournal on real files: writes come back, torn tails are cut, syncs are counted."""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from log.api import Error
from log.journal import JOURNAL_FILE, LOCK_FILE, STUB, DurableJournal, JournalError
from log.raft_meta import META_FILE, MetaError


class Syncs:
    def __init__(self) -> None:
        self.count = 0

    def __call__(self, fd: int) -> None:
        os.fdatasync(fd)
        self.count += 1


@pytest.fixture
def syncs() -> Syncs:
    return Syncs()


@pytest.fixture
def journal(tmp_path: Path, syncs: Syncs) -> Iterator[DurableJournal]:
    j = DurableJournal(tmp_path, sync_file=syncs)
    yield j
    j.close()


def reopen(journal: DurableJournal, path: Path) -> DurableJournal:
    journal.close()
    return DurableJournal(path)


def fill(journal: DurableJournal, n: int, term: int = 1) -> None:
    for i in range(1, n + 1):
        journal.add(b"cmd-%d" % i, i, term)


def test_entries_and_metadata_come_back_after_reopen(
    journal: DurableJournal, tmp_path: Path
) -> None:
    fill(journal, 5)
    journal.setCurrentTerm(3, "127.0.0.1:1")
    journal.setRaftCommitIndex(4)
    again = reopen(journal, tmp_path)
    try:
        assert len(again) == 5
        assert again[0] == (b"cmd-1", 1, 1)
        assert again[-1] == (b"cmd-5", 5, 1)
        assert again[1:3] == [(b"cmd-2", 2, 1), (b"cmd-3", 3, 1)]
        assert (again.getCurrentTerm(), again.getVotedForNodeId()) == (3, "127.0.0.1:1")
        assert again.getRaftCommitIndex() == 4
    finally:
        again.close()


def test_term_and_vote_are_stored_before_set_current_term_returns(
    journal: DurableJournal, tmp_path: Path
) -> None:
    journal.setCurrentTerm(7, None)
    meta = json.loads((tmp_path / META_FILE).read_bytes())
    assert (meta["term"], meta["voted_for"]) == (7, None)


def test_commit_index_is_clamped_to_the_journal(journal: DurableJournal, tmp_path: Path) -> None:
    fill(journal, 3)
    journal.setRaftCommitIndex(10)
    again = reopen(journal, tmp_path)
    try:
        assert again.getRaftCommitIndex() == 3
    finally:
        again.close()


def test_a_burst_of_entries_costs_one_sync(journal: DurableJournal, syncs: Syncs) -> None:
    before = syncs.count
    fill(journal, 10)
    assert syncs.count == before  # add only writes
    journal.flush()
    assert syncs.count == before + 1
    journal.flush()
    assert syncs.count == before + 1  # nothing new: no sync
    journal.add(b"x", 11, 1)
    journal.setRaftCommitIndex(11)  # committing syncs first
    assert syncs.count == before + 2
    assert journal.sync_count == syncs.count


def test_without_fsync_nothing_is_synced(tmp_path: Path, syncs: Syncs) -> None:
    journal = DurableJournal(tmp_path, fsync=False, sync_file=syncs)
    fill(journal, 3)
    journal.flush()
    journal.close()
    assert syncs.count == 0


@pytest.mark.parametrize("tail", [b"\x10\x00", b"\x05\x00\x00\x00" + b"\x00" * 30])
def test_a_torn_tail_is_cut(
    journal: DurableJournal, tmp_path: Path, tail: bytes, caplog: pytest.LogCaptureFixture
) -> None:
    fill(journal, 3)
    journal.close()
    path = tmp_path / JOURNAL_FILE
    intact = path.stat().st_size
    with path.open("ab") as f:
        f.write(tail)
    with caplog.at_level(logging.WARNING, logger="log.journal"):
        again = DurableJournal(tmp_path)
    assert [r.getMessage() for r in caplog.records] == [
        f"raft journal {path}: cutting a torn tail of {len(tail)} bytes at offset {intact} "
        "(records that were being written when the process stopped; none was acknowledged)"
    ]
    try:
        assert [e[1] for e in again[:]] == [1, 2, 3]
        assert path.stat().st_size == intact
        again.add(b"next", 4, 1)
    finally:
        again.close()
    assert len(reopen(DurableJournal(tmp_path), tmp_path)) == 4


def test_a_record_with_a_bad_checksum_ends_the_journal(
    journal: DurableJournal, tmp_path: Path
) -> None:
    fill(journal, 3)
    journal.close()
    path = tmp_path / JOURNAL_FILE
    data = bytearray(path.read_bytes())
    data[-1] ^= 0xFF  # last byte of the last command
    path.write_bytes(bytes(data))
    again = DurableJournal(tmp_path)
    try:
        assert len(again) == 2
    finally:
        again.close()


def test_a_file_that_is_not_a_journal_is_refused(tmp_path: Path) -> None:
    (tmp_path / JOURNAL_FILE).write_bytes(b"PYSYNCOBJ" + b"\x00" * 40)
    with pytest.raises(JournalError, match="not a Perdure raft journal") as refused:
        DurableJournal(tmp_path)
    assert str(refused.value).startswith(f"{tmp_path / JOURNAL_FILE} is not")  # names the file
    DurableJournal(tmp_path / "other").close()  # the failed open released its lock


def test_deleting_a_suffix_is_durable(journal: DurableJournal, tmp_path: Path) -> None:
    fill(journal, 5)
    journal.deleteEntriesFrom(2)  # keep entries at positions 0 and 1
    journal.add(b"new-3", 3, 2)
    again = reopen(journal, tmp_path)
    try:
        assert again[:] == [(b"cmd-1", 1, 1), (b"cmd-2", 2, 1), (b"new-3", 3, 2)]
    finally:
        again.close()


def test_a_truncation_is_synced_by_the_next_flush(journal: DurableJournal, syncs: Syncs) -> None:
    fill(journal, 5)
    journal.flush()
    before = syncs.count
    journal.deleteEntriesFrom(5)  # just past the last entry: nothing to drop, nothing to sync
    journal.flush()
    assert (len(journal), syncs.count) == (5, before)
    journal.deleteEntriesFrom(3)
    journal.flush()
    assert (len(journal), syncs.count) == (3, before + 1)


def test_compacting_keeps_two_stubs_and_what_follows_across_reopen(
    journal: DurableJournal, tmp_path: Path
) -> None:
    for i in range(1, 6):
        journal.add(b"cmd-%d" % i, i, 1 if i < 3 else 2)
    size = journal.size_bytes
    assert journal.compact(3)
    assert journal[:] == [(STUB, 2, 1), (STUB, 3, 2), (b"cmd-4", 4, 2), (b"cmd-5", 5, 2)]
    assert (journal.compacted_index, journal.term_at(2), journal.term_at(1)) == (3, 1, None)
    assert journal.size_bytes < size
    assert not journal.compact(3)  # never backwards, never twice
    journal.add(b"cmd-6", 6, 2)
    again = reopen(journal, tmp_path)
    try:
        assert again.compacted_index == 3
        assert [e[1] for e in again[:]] == [2, 3, 4, 5, 6]
        assert again.getRaftCommitIndex() >= 3  # compacted entries were committed
        assert again.compact(99)  # clamped to the last entry
        assert again[:] == [(STUB, 5, 2), (STUB, 6, 2)]
        assert (tmp_path / JOURNAL_FILE).stat().st_size == again.size_bytes
    finally:
        again.close()


def test_the_trim_point_is_stored(journal: DurableJournal, tmp_path: Path) -> None:
    assert journal.trimmed_lsn == -1
    journal.store_trimmed(1234)
    journal.store_trimmed(1000)  # never backwards
    again = reopen(journal, tmp_path)
    try:
        assert again.trimmed_lsn == 1234
    finally:
        again.close()


def test_stubs_are_never_truncated_and_pysyncobj_compaction_is_ignored(
    journal: DurableJournal, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    failures: list[Error] = []
    journal.set_listeners(on_failure=failures.append, on_closed=lambda: None)
    fill(journal, 5)
    journal.compact(3)
    with caplog.at_level(logging.WARNING, logger="log.journal"):
        journal.deleteEntriesTo(3)  # pysyncobj's own compaction: off, ignored
    assert len(journal) == 4
    assert [r.getMessage() for r in caplog.records] == [
        f"raft journal {tmp_path}: ignoring pysyncobj's request to compact; compaction is "
        "driven by RaftLog.trim (is pysyncobj's log compaction switched on?)"
    ]
    journal.deleteEntriesFrom(2)  # after the stubs: fine
    assert [e[1] for e in journal[:]] == [2, 3]
    with (
        caplog.at_level(logging.ERROR, logger="log.journal"),
        pytest.raises(JournalError, match="compacted"),
    ):
        journal.deleteEntriesFrom(1)
    assert len(failures) == 1
    assert caplog.records[-1].getMessage() == str(failures[0])  # logged as it is reported


def test_clear_empties_the_journal(journal: DurableJournal, tmp_path: Path) -> None:
    fill(journal, 3)
    journal.clear()
    assert len(journal) == 0
    journal.add(b"fresh", 10, 4)
    again = reopen(journal, tmp_path)
    try:
        assert again[:] == [(b"fresh", 10, 4)]
    finally:
        again.close()


def test_a_directory_holds_one_journal_at_a_time(journal: DurableJournal, tmp_path: Path) -> None:
    with pytest.raises(JournalError, match="in use"):
        DurableJournal(tmp_path)
    journal.close()
    DurableJournal(tmp_path).close()


def test_a_closed_journal_refuses_writes(journal: DurableJournal) -> None:
    journal.close()
    with pytest.raises(JournalError, match="closed"):
        journal.add(b"x", 1, 1)
    journal.close()  # idempotent


class Disk:
    """A sync seam whose disk can break."""

    def __init__(self) -> None:
        self.broken = False

    def __call__(self, fd: int) -> None:
        if self.broken:
            raise OSError(5, "Input/output error")
        os.fdatasync(fd)


def test_a_journal_that_cannot_sync_on_open_is_refused(tmp_path: Path) -> None:
    DurableJournal(tmp_path).close()
    disk = Disk()
    disk.broken = True
    with pytest.raises(JournalError, match="Input/output error"):
        DurableJournal(tmp_path, sync_file=disk)  # opening syncs what it read back
    DurableJournal(tmp_path).close()  # the failed open released its files and lock


def test_an_io_error_makes_the_journal_unusable_and_is_reported(tmp_path: Path) -> None:
    failures: list[Error] = []
    disk = Disk()
    journal = DurableJournal(tmp_path, sync_file=disk)
    journal.set_listeners(on_failure=failures.append, on_closed=lambda: None)
    journal.add(b"x", 1, 1)
    disk.broken = True
    with pytest.raises(JournalError, match="Input/output error"):
        journal.flush()
    assert len(failures) == 1
    with pytest.raises(JournalError, match="Input/output error"):
        journal.add(b"y", 2, 1)  # a failed sync cannot be retried safely
    journal.close()


def test_unreadable_metadata_is_reported(tmp_path: Path) -> None:
    (tmp_path / META_FILE).write_bytes(b"{not json")
    with pytest.raises(MetaError, match="unreadable"):
        DurableJournal(tmp_path)
    (tmp_path / META_FILE).unlink()
    DurableJournal(tmp_path).close()  # the failed open released the lock


def test_a_record_cut_short_by_the_end_of_the_file_is_a_torn_tail(
    journal: DurableJournal, tmp_path: Path
) -> None:
    fill(journal, 3)
    journal.close()
    path = tmp_path / JOURNAL_FILE
    intact = path.stat().st_size
    with path.open("ab") as f:  # a whole header announcing 100 bytes, and only 10 of them
        f.write(b"\x64\x00\x00\x00" + b"\x00" * 20 + b"x" * 10)
    again = DurableJournal(tmp_path)
    try:
        assert [e[1] for e in again[:]] == [1, 2, 3]
        assert path.stat().st_size == intact
    finally:
        again.close()


def test_a_gap_in_the_indexes_is_damage_and_says_where(tmp_path: Path) -> None:
    journal = DurableJournal(tmp_path)
    for index in (1, 2, 3):
        journal.add(b"cmd", index, 7)
    gap_at = journal.size_bytes
    journal.add(b"cmd", 5, 7)
    journal.close()
    with pytest.raises(
        JournalError, match=rf"is damaged at byte {gap_at}: entry 5 follows entry 3; rebuild"
    ) as refused:
        DurableJournal(tmp_path)
    assert str(refused.value).startswith(f"{tmp_path / JOURNAL_FILE} is damaged")


def test_a_lone_stub_is_damage(tmp_path: Path) -> None:
    journal = DurableJournal(tmp_path)
    journal.add(STUB, 1, 1)  # a compacted journal always starts with two stubs
    journal.close()
    with pytest.raises(JournalError, match="compacted but lacks the stub of its last compacted"):
        DurableJournal(tmp_path)


def test_entries_read_back_can_be_truncated(journal: DurableJournal, tmp_path: Path) -> None:
    fill(journal, 5)
    again = reopen(journal, tmp_path)
    try:
        again.deleteEntriesFrom(3)
        again.add(b"new-4", 4, 2)
    finally:
        again.close()
    final = DurableJournal(tmp_path)
    try:
        assert [e[0] for e in final[:]] == [b"cmd-1", b"cmd-2", b"cmd-3", b"new-4"]
    finally:
        final.close()


def test_term_at_knows_only_the_entries_it_holds(journal: DurableJournal) -> None:
    fill(journal, 3, term=4)
    assert [journal.term_at(i) for i in range(5)] == [None, 4, 4, 4, None]


def test_compacting_through_the_second_entry_keeps_both_as_stubs(
    journal: DurableJournal, tmp_path: Path
) -> None:
    fill(journal, 4)
    assert not journal.compact(1)  # no entry before the first to stand for it
    assert journal.compact(2)
    assert journal[:] == [(STUB, 1, 1), (STUB, 2, 1), (b"cmd-3", 3, 1), (b"cmd-4", 4, 1)]


def test_compacting_from_the_first_entry_of_a_cleared_journal_does_nothing(
    journal: DurableJournal,
) -> None:
    journal.clear()
    for index in (10, 11, 12):
        journal.add(b"cmd", index, 1)
    assert not journal.compact(10)
    assert [e[1] for e in journal[:]] == [10, 11, 12]


def test_a_compaction_is_durable_by_itself_and_keeps_the_file_mode(
    journal: DurableJournal, tmp_path: Path, syncs: Syncs
) -> None:
    fill(journal, 5)
    journal.flush()
    mode = (tmp_path / JOURNAL_FILE).stat().st_mode & 0o777
    assert journal.compact(3)
    before = syncs.count
    journal.flush()
    assert syncs.count == before  # the rewrite synced itself: nothing left for flush
    assert (tmp_path / JOURNAL_FILE).stat().st_mode & 0o777 == mode
    umask = os.umask(0)
    os.umask(umask)
    assert mode == (tmp_path / LOCK_FILE).stat().st_mode & 0o777 == 0o644 & ~umask


def test_the_checksum_covers_the_index_and_term(journal: DurableJournal, tmp_path: Path) -> None:
    fill(journal, 3)
    last = journal.size_bytes - len(b"cmd-3")
    journal.close()
    path = tmp_path / JOURNAL_FILE
    data = bytearray(path.read_bytes())
    data[last - 1] ^= 0x01  # the last byte of the last record's term
    path.write_bytes(bytes(data))
    again = DurableJournal(tmp_path)
    try:
        assert again[:] == [(b"cmd-1", 1, 1), (b"cmd-2", 2, 1)]
    finally:
        again.close()


def test_opening_leaves_nothing_to_flush(tmp_path: Path, syncs: Syncs) -> None:
    journal = DurableJournal(tmp_path, sync_file=syncs)
    try:
        opened = syncs.count
        journal.flush()
        assert syncs.count == opened
        assert journal.getRaftCommitIndex() == 1  # pysyncobj's first index, even when empty
    finally:
        journal.close()


def test_entries_added_counts_every_append(journal: DurableJournal) -> None:
    fill(journal, 5)
    assert journal.entries_added == 5


def test_the_one_second_timer_stores_the_commit_index_until_the_journal_fails(
    tmp_path: Path,
) -> None:
    disk = Disk()
    journal = DurableJournal(tmp_path, sync_file=disk)
    journal.set_listeners(on_failure=lambda error: None, on_closed=lambda: None)
    fill(journal, 4)
    journal.setRaftCommitIndex(2)
    journal.onOneSecondTimer()
    assert json.loads((tmp_path / META_FILE).read_bytes())["commit_index"] == 2
    journal.setRaftCommitIndex(3)
    journal.add(b"x", 5, 1)
    disk.broken = True
    with pytest.raises(JournalError):
        journal.flush()
    journal.onOneSecondTimer()  # a failed journal writes nothing more
    assert json.loads((tmp_path / META_FILE).read_bytes())["commit_index"] == 2
    journal.close()


def test_closing_with_unsynced_entries_on_a_broken_disk_reports_and_releases(
    tmp_path: Path,
) -> None:
    failures: list[Error] = []
    disk = Disk()
    journal = DurableJournal(tmp_path, sync_file=disk)
    journal.set_listeners(on_failure=failures.append, on_closed=lambda: None)
    journal.add(b"x", 1, 1)
    disk.broken = True
    journal.close()  # raises nothing: the failure is reported instead
    assert len(failures) == 1
    DurableJournal(tmp_path).close()  # the directory was released


def test_the_file_holds_exactly_the_records_written(
    journal: DurableJournal, tmp_path: Path
) -> None:
    journal.add(b"x" * 100, 1, 1)  # a command longer than a record header
    journal.add(b"y" * 300, 2, 1)
    assert (tmp_path / JOURNAL_FILE).stat().st_size == journal.size_bytes


def test_a_journal_opens_in_a_directory_it_creates_with_its_parents(tmp_path: Path) -> None:
    DurableJournal(tmp_path / "a" / "b" / "raft").close()


def test_a_directory_that_cannot_be_made_is_refused_with_the_os_error(tmp_path: Path) -> None:
    (tmp_path / "file").write_bytes(b"")
    with pytest.raises(JournalError, match=r"could not open the raft journal in .* \(\[Errno"):
        DurableJournal(tmp_path / "file")


def test_failures_and_destruction_need_no_listeners(tmp_path: Path) -> None:
    disk = Disk()
    journal = DurableJournal(tmp_path, sync_file=disk)
    journal.add(b"x", 1, 1)
    disk.broken = True
    with pytest.raises(JournalError, match="Input/output error"):
        journal.flush()
    journal._destroy()  # pysyncobj's name for close


def test_a_tick_with_nothing_new_writes_no_metadata(tmp_path: Path) -> None:
    journal = DurableJournal(tmp_path)
    try:
        journal.onOneSecondTimer()
        assert not (tmp_path / META_FILE).exists()  # a new journal has nothing to store
        journal.setCurrentTerm(2, None)
        stored = (tmp_path / META_FILE).stat().st_ino
        journal.onOneSecondTimer()
        assert (tmp_path / META_FILE).stat().st_ino == stored  # not rewritten
    finally:
        journal.close()
