"""Where a member's log resumes after it installs a snapshot of another member's state.

A snapshot is a copy of a group's store holding every record up to some LSN `L` (its applied
position) and none after. The member that installs it must resume its log exactly after `L`:

* its journal is compacted through a raft index `through` such that every entry up to `through`
  holds only records <= L, so nothing it never applied is dropped;
* it stores `L` as its trim point, so the records <= L of the entries after `through` (the rest
  of the entry `L` is in, sent again by the leader) are filtered out as they arrive;
* `through` must be at least the sender's own compaction point: a leader compacted through `c`
  can only send entries after `c`, and a member compacted below `c` would be sent the manifest
  again (and need another snapshot) instead of them.

`log_point` works this out from the sending member's journal (on pysyncobj's tick thread, which
owns it); `install_log_point` applies it to the receiving member's journal before its pysyncobj
starts. LSNs are `raft_index << 20 | offset` (log/lsn.py), so `L`'s entry is `raft_index_of(L)`
and every entry before it holds only records < L.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from log.api import Error
from log.compaction import MANIFEST_FILE, Manifest
from log.files import replace_atomically
from log.journal import DurableJournal
from log.lsn import raft_index_of


@dataclass(frozen=True, slots=True)
class LogPoint:
    lsn: int  # the snapshot holds every record up to this LSN
    through: int  # raft index the installer's journal is compacted through
    term_before: int  # terms of the entries at `through - 1` and `through`
    term_through: int
    nodes: tuple[str, ...] = ()  # the group's configuration then (raft addresses)


class NoLogPoint(Error):
    """The sending member cannot say where a snapshot of state through that LSN resumes."""


def log_point(journal: DurableJournal, lsn: int, nodes: tuple[str, ...] = ()) -> LogPoint:
    """Where a member installing a snapshot through `lsn` taken here resumes its log. Call on the
    thread that owns `journal`. Raises `NoLogPoint` if this journal was trimmed past `lsn` (the
    snapshot is older than this member's log: take a newer one) or lacks the entries' terms."""
    if journal.trimmed_lsn > lsn:
        raise NoLogPoint(
            f"the log was trimmed through LSN {journal.trimmed_lsn}, past the snapshot's {lsn}"
        )
    through = max(raft_index_of(lsn) - 1, journal.compacted_index)
    term_before, term_through = journal.term_at(through - 1), journal.term_at(through)
    if through < 2 or term_before is None or term_through is None:
        raise NoLogPoint(
            f"no log point for LSN {lsn}: the journal holds raft indexes "
            f"{journal.compacted_index - 1}..{journal.last_index}, not {through - 1}..{through}"
        )
    return LogPoint(lsn, through, term_before, term_through, nodes)


def install_log_point(directory: Path, point: LogPoint, *, fsync: bool = True) -> None:
    """Make the journal in `directory` resume after `point` (see `DurableJournal.install`) and
    store the group's configuration with it (the manifest pysyncobj loads it from); call while
    no pysyncobj uses it. Idempotent. Raises `JournalError` (or OSError) on I/O errors."""
    journal = DurableJournal(directory, fsync=fsync)
    try:
        journal.install(point.through, point.term_before, point.term_through, point.lsn)
    finally:
        journal.close()
    if point.nodes:
        manifest = Manifest("", point.through, point.term_through, point.lsn, point.nodes)
        replace_atomically(directory / MANIFEST_FILE, manifest.encode(), fsync=fsync)
