"""A durable Raft journal for pysyncobj: its records reach the disk before anyone relies on them.

pysyncobj 0.3.17's FileJournal writes into an mmap and never syncs it, and stores term/vote/commit
metadata without fsync (upstream issue #84). `DurableJournal` replaces it (see `log/replica.py` for
how it is plugged in) and implements the same duck-typed interface pysyncobj calls on its tick
thread: `add`, `clear`, `deleteEntriesFrom`, `deleteEntriesTo`, `__getitem__`, `__len__`,
`setRaftCommitIndex`, `getRaftCommitIndex`, `setCurrentTerm`, `getCurrentTerm`,
`getVotedForNodeId`, `onOneSecondTimer`, `_destroy`.

Files in the data directory:

* `raft.journal`: an 8-byte magic, then records `u32 len | u32 crc32 | u64 index | u64 term |
  command[len]`, appended with `pwritev`. The crc covers index, term and command. On open, the
  records are read back; the first incomplete or crc-failing record and everything after it is a
  torn tail (never acknowledged, see below) and is cut off, with a warning.
* `raft.meta`: JSON `{"term", "voted_for", "commit_index", "trimmed_lsn"}`, replaced atomically:
  write a temp file, fsync it, rename it over the old one, fsync the directory.
* `LOCK`: an exclusive `flock`, so two logs (or two processes) never share a directory.

Durability protocol (with `fsync=True`):

* `add` only writes and marks the journal dirty. `flush` calls `fdatasync` once if dirty, so a
  burst of entries costs one sync. pysyncobj's thread calls `flush` (through our hooks) before any
  message leaves the member (so a follower acknowledges only synced entries, and a leader only
  sends what it has synced) and in `setRaftCommitIndex` (so nothing is applied, and no append is
  acknowledged, before its entry is synced on this member). `deleteEntriesFrom` (a follower
  dropping a conflicting suffix) is made durable by the same sync.
* `setCurrentTerm` (term and vote) is stored synchronously, before pysyncobj sends the vote.
* The commit index is hint-only in Raft: it is stored at most once per second and clamped to the
  journal's last index on open.
* Opening syncs the journal once, so entries read back after a process crash (possibly still only
  in the page cache) are durable before they are replayed.

Compaction (`compact(through)`, driven by `RaftLog.trim` through log/compaction.py; pysyncobj's
own `deleteEntriesTo` is ignored): the file is rewritten atomically (temp file, fsync, rename,
directory fsync) holding two *stubs* — entries with an empty command that keep only the index and
term of entries `through - 1` and `through` — followed by every entry after `through`. Stubs are
what pysyncobj needs after a snapshot (`raftLog[0]`, `raftLog[1]`: the previous and the last
compacted entry, for their terms); they hold no records, are never applied (pysyncobj resumes
after them) and are never sent (log/compaction.py intercepts that). pysyncobj never produces an
empty command, so stubs are unambiguous. The journal refuses to truncate or clear stubs (a bug
elsewhere: they stand for committed entries).

Any I/O error makes the journal unusable (a failed fsync cannot be retried safely): it calls
`on_failure` and raises on every later write.
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
import mmap
import os
import struct
import zlib
from collections.abc import Callable, Sequence
from dataclasses import replace
from pathlib import Path
from typing import NoReturn, overload

from log.api import Error, SnapshotNeeded
from log.files import fsync_directory, write_all
from log.raft_meta import load_meta, store_meta

logger = logging.getLogger(__name__)

JOURNAL_FILE = "raft.journal"
LOCK_FILE = "LOCK"

_MAGIC = b"PRDJRNL\x01"
_LEN_CRC = struct.Struct("<II")
_INDEX_TERM = struct.Struct("<QQ")
_HEADER_SIZE = _LEN_CRC.size + _INDEX_TERM.size
_MAX_COMMAND = (1 << 32) - 1
STUB = b""  # command of a compacted entry (pysyncobj never stores an empty command)

JournalEntry = tuple[bytes, int, int]  # (command, raft index, term): pysyncobj's entry shape


class JournalError(Error):
    """The Raft journal could not be read or written; the member must stop (see the message)."""


def _crc(index_term: bytes, command: bytes) -> int:
    return zlib.crc32(command, zlib.crc32(index_term))


def _encode(command: bytes, index: int, term: int) -> tuple[bytes, bytes]:
    index_term = _INDEX_TERM.pack(index, term)
    return _LEN_CRC.pack(len(command), _crc(index_term, command)) + index_term, command


class DurableJournal:
    """pysyncobj's journal, durable. Called only from one thread at a time (pysyncobj's)."""

    def __init__(
        self,
        directory: Path,
        *,
        fsync: bool = True,
        sync_file: Callable[[int], None] = os.fdatasync,
    ) -> None:
        """Open (or create) the journal in `directory`, reading back every intact record.

        `sync_file(fd)` is called for each journal data sync; it is a seam for tests and metrics
        and must really sync (default `os.fdatasync`). Raises `JournalError` if the directory is
        in use or the files are not ours or are damaged before their tail.
        """
        self._dir = directory
        self._fsync = fsync
        self._sync_file = sync_file
        self._entries: list[JournalEntry] = []
        self._offsets: list[int] = []
        self._dirty = False
        self._failed: Error | None = None
        self._closed = False
        self._on_failure: Callable[[Error], None] | None = None
        self._on_closed: Callable[[], None] | None = None
        self.sync_count = 0
        self.entries_added = 0
        self.compactions = 0
        self._meta_dirty = False
        try:
            directory.mkdir(parents=True, exist_ok=True)
            self._lock_fd = self._lock_directory()
        except OSError as e:
            raise self._open_failed(e) from e
        try:
            self._meta = load_meta(directory)
            self._fd = os.open(directory / JOURNAL_FILE, os.O_RDWR | os.O_CREAT, 0o644)
            try:
                self._end = self._load_records()
            except BaseException:
                os.close(self._fd)
                raise
        except BaseException as e:
            os.close(self._lock_fd)
            if isinstance(e, OSError):
                raise self._open_failed(e) from e
            raise

    def _open_failed(self, error: OSError) -> JournalError:
        return JournalError(
            f"could not open the raft journal in {self._dir} ({error}); check the disk and the "
            f"directory's permissions, then restart"
        )

    def set_listeners(
        self,
        *,
        on_failure: Callable[[Error], None],
        on_closed: Callable[[], None],
    ) -> None:
        """`on_failure` runs once when an I/O error makes the journal unusable; `on_closed` runs
        when pysyncobj destroys the journal. Both run on the calling (pysyncobj's) thread."""
        self._on_failure = on_failure
        self._on_closed = on_closed

    @property
    def fsync(self) -> bool:
        """Whether this journal makes what it writes durable (off only in tests)."""
        return self._fsync

    @property
    def last_index(self) -> int:
        """Raft index of the last entry (0 if empty)."""
        return self._entries[-1][1] if self._entries else 0

    @property
    def compacted_index(self) -> int:
        """Raft index of the last compacted entry (a stub), 0 if the journal was never compacted."""
        entries = self._entries  # one read: stats may call this from another thread
        if len(entries) >= 2 and entries[0][0] == STUB:
            return entries[1][1]
        return 0

    @property
    def trimmed_lsn(self) -> int:
        """The stored trim point (`store_trimmed`), -1 if none."""
        return self._meta.trimmed_lsn

    @property
    def size_bytes(self) -> int:
        """Bytes of the journal file in use."""
        return self._end

    def term_at(self, index: int) -> int | None:
        """Term of the entry at raft `index` (stubs included), None if the journal lacks it."""
        if not self._entries:
            return None
        position = index - self._entries[0][1]
        if 0 <= position < len(self._entries):
            return self._entries[position][2]
        return None

    # --- opening ---------------------------------------------------------------------------

    def _lock_directory(self) -> int:
        fd = os.open(self._dir / LOCK_FILE, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            raise JournalError(
                f"raft data directory {self._dir} is in use by another log (in this or another "
                f"process); close that log first or use another directory"
            ) from None
        return fd

    def _load_records(self) -> int:
        path = self._dir / JOURNAL_FILE
        size = os.fstat(self._fd).st_size
        if size == 0:
            self._write_at(0, (_MAGIC,))
            self._sync_data()
            fsync_directory(self._dir)
            return len(_MAGIC)
        if size < len(_MAGIC) or os.pread(self._fd, len(_MAGIC), 0) != _MAGIC:
            raise JournalError(
                f"{path} is not a Perdure raft journal (bad header); refusing to touch it: move "
                f"it away or point the log at another directory"
            )
        with mmap.mmap(self._fd, size, access=mmap.ACCESS_READ) as data:
            end = self._scan(data, size, path)
        if end != size:
            logger.warning(
                "raft journal %s: cutting a torn tail of %d bytes at offset %d (records that "
                "were being written when the process stopped; none was acknowledged)",
                path,
                size - end,
                end,
            )
            os.ftruncate(self._fd, end)
        self._sync_data()
        return end

    def _scan(self, data: mmap.mmap, size: int, path: Path) -> int:
        pos = len(_MAGIC)
        while pos + _HEADER_SIZE <= size:
            length, crc = _LEN_CRC.unpack_from(data, pos)
            index_term = data[pos + _LEN_CRC.size : pos + _HEADER_SIZE]
            end = pos + _HEADER_SIZE + length
            if end > size:
                break
            command = data[pos + _HEADER_SIZE : end]
            if _crc(index_term, command) != crc:
                break
            index, term = _INDEX_TERM.unpack(index_term)
            if self._entries and index != self._entries[-1][1] + 1:
                raise JournalError(
                    f"{path} is damaged at byte {pos}: entry {index} follows entry "
                    f"{self._entries[-1][1]}; rebuild this member from its peers or a backup"
                )
            self._entries.append((command, index, term))
            self._offsets.append(pos)
            pos = end
        if self._entries and self._entries[0][0] == STUB and self.compacted_index == 0:
            raise JournalError(
                f"{path} is damaged: it was compacted but lacks the stub of its last compacted "
                f"entry; rebuild this member from its peers or a backup"
            )
        return pos

    # --- pysyncobj's journal interface (its tick thread) -------------------------------------

    def add(self, command: bytes, idx: int, term: int) -> None:
        self._check_usable()
        command = bytes(command)
        if len(command) > _MAX_COMMAND:
            self._fail(JournalError(f"a raft entry of {len(command)} bytes exceeds 4 GiB"))
        header, body = _encode(command, idx, term)
        offset = self._end
        self._guarded(lambda: self._write_at(offset, (header, body)))
        self._end = offset + len(header) + len(body)
        self._offsets.append(offset)
        self._entries.append((command, idx, term))
        self._dirty = True
        self.entries_added += 1

    def clear(self) -> None:
        self._truncate_at_entry(0)

    def deleteEntriesFrom(self, entryFrom: int) -> None:
        self._truncate_at_entry(entryFrom)

    def deleteEntriesTo(self, entryTo: int) -> None:
        """pysyncobj's own log compaction, which is off (it would compact at its applied index,
        past what the log's owner made durable): ignored; see `compact`."""
        logger.warning(
            "raft journal %s: ignoring pysyncobj's request to compact; compaction is driven by "
            "RaftLog.trim (is pysyncobj's log compaction switched on?)",
            self._dir,
        )

    @overload
    def __getitem__(self, item: int) -> JournalEntry: ...
    @overload
    def __getitem__(self, item: slice) -> list[JournalEntry]: ...
    def __getitem__(self, item: int | slice) -> JournalEntry | list[JournalEntry]:
        return self._entries[item]

    def __len__(self) -> int:
        return len(self._entries)

    def setRaftCommitIndex(self, raftCommitIndex: int) -> None:
        # pysyncobj applies (and acknowledges) entries up to this index right after this call.
        self.flush()
        self._meta = replace(self._meta, commit_index=raftCommitIndex)
        self._meta_dirty = True

    def getRaftCommitIndex(self) -> int:
        # Compacted entries were committed (and applied) even if the stored hint is older.
        return max(1, self.compacted_index, min(self._meta.commit_index, self.last_index))

    def setCurrentTerm(self, term: int, votedForNodeId: str | None) -> None:
        self._check_usable()
        self._meta = replace(self._meta, term=term, voted_for=votedForNodeId)
        self._guarded(self._store_meta)

    def getCurrentTerm(self) -> int:
        return self._meta.term

    def getVotedForNodeId(self) -> str | None:
        return self._meta.voted_for

    def onOneSecondTimer(self) -> None:
        if self._meta_dirty and self._failed is None:
            self._guarded(self._store_meta)

    def _destroy(self) -> None:
        self.close()
        if self._on_closed is not None:
            self._on_closed()

    # --- ours ---------------------------------------------------------------------------------

    def compact(self, through: int) -> bool:
        """Forget every entry up to raft index `through` (clamped to the last entry): rewrite the
        journal as two stubs (`through - 1`, `through`) and the entries after them; durable when
        this returns. The caller guarantees that entries up to `through` are committed, applied
        and no longer needed. Returns False (and does nothing) unless this moves the compaction
        point forward."""
        self._check_usable()
        through = min(through, self.last_index)
        if through < 2 or through <= self.compacted_index:
            return False
        position = through - self._entries[0][1]
        if position < 1:  # no entry before `through` to stand for (a journal not from pysyncobj)
            return False
        (_, before_index, before_term), (_, index, term) = self._entries[
            position - 1 : position + 1
        ]
        keep = [
            (STUB, before_index, before_term),
            (STUB, index, term),
            *self._entries[position + 1 :],
        ]
        self._guarded(lambda: self._rewrite(keep))
        self.compactions += 1
        return True

    def install(self, through: int, term_before: int, term_through: int, trimmed_lsn: int) -> None:
        """Resume this journal after raft index `through`, as a member that installed a snapshot
        of state through `trimmed_lsn` does: store the trim point, then keep the entries after
        `through` if this journal holds `through` in the same term (a compaction), or else
        replace every entry by the two stubs (`through - 1`, `through`) (what it held is older
        than the snapshot, or diverged and was never committed). Idempotent; durable when this
        returns."""
        self._check_usable()
        if through < 2:
            raise JournalError(f"a snapshot's log point must be past raft index 1, not {through}")
        self.store_trimmed(trimmed_lsn)
        if self.compacted_index >= through:
            return
        if self.term_at(through) == term_through:
            self.compact(through)
            return
        keep: list[JournalEntry] = [
            (STUB, through - 1, term_before),
            (STUB, through, term_through),
        ]
        self._guarded(lambda: self._rewrite(keep))
        self.compactions += 1

    def store_trimmed(self, lsn: int) -> None:
        """Durably record that records with LSN <= `lsn` were trimmed (before `compact` drops
        them, so a restart never serves fewer records than the trim point says are trimmed)."""
        self._check_usable()
        if lsn <= self._meta.trimmed_lsn:
            return
        self._meta = replace(self._meta, trimmed_lsn=lsn)
        self._guarded(self._store_meta)

    def fail(self, error: Error) -> None:
        """Make the journal unusable because of `error` (found outside it) and report it like an
        I/O failure, without raising."""
        try:
            self._fail(error)
        except Error:
            pass

    def flush(self) -> None:
        """Make every entry written so far durable (one `fdatasync`, only if something changed)."""
        if not self._dirty:
            return
        self._check_usable()
        self._guarded(self._sync_data)
        self._dirty = False

    def close(self) -> None:
        """Sync what is pending (unless the journal failed), then release the files. Idempotent."""
        if self._closed:
            return
        self._closed = True
        try:
            if self._failed is None:
                with contextlib.suppress(JournalError):
                    if self._dirty:
                        self._guarded(self._sync_data)
                    if self._meta_dirty:
                        self._guarded(self._store_meta)
        finally:
            os.close(self._fd)
            os.close(self._lock_fd)

    def _check_usable(self) -> None:
        if self._failed is not None:
            raise self._failed
        if self._closed:
            raise JournalError(f"the raft journal in {self._dir} is closed")

    def _guarded(self, action: Callable[[], None]) -> None:
        try:
            action()
        except OSError as e:
            self._fail(
                JournalError(
                    f"raft journal I/O in {self._dir} failed ({e}); the member stopped writing "
                    f"(a failed write or sync cannot be retried safely): fix the disk and restart"
                )
            )

    def _fail(self, error: Error) -> NoReturn:
        if self._failed is None:
            self._failed = error
            # A member behind the others' compaction point is expected to install a snapshot.
            level = logging.WARNING if isinstance(error, SnapshotNeeded) else logging.ERROR
            logger.log(level, "%s", error)
            if self._on_failure is not None:
                self._on_failure(error)
        raise error

    def _write_at(self, offset: int, parts: Sequence[bytes]) -> None:
        views = [memoryview(p) for p in parts if p]
        while views:
            written = os.pwritev(self._fd, views, offset)
            offset += written
            while views and written >= len(views[0]):
                written -= len(views[0])
                views.pop(0)
            if views and written:
                views[0] = views[0][written:]

    def _sync_data(self) -> None:
        if self._fsync:
            self._sync_file(self._fd)
            self.sync_count += 1

    def _truncate_at_entry(self, position: int) -> None:
        self._check_usable()
        if position >= len(self._entries):
            return
        if position < 2 and self.compacted_index:
            self._fail(
                JournalError(
                    f"bug: pysyncobj asked to drop compacted (committed) raft entries from "
                    f"position {position} of the journal in {self._dir}; the member stopped"
                )
            )
        cut = self._offsets[position]
        self._guarded(lambda: os.ftruncate(self._fd, cut))
        del self._entries[position:]
        del self._offsets[position:]
        self._end = cut
        self._dirty = True

    def _rewrite(self, keep: list[JournalEntry]) -> None:
        path = self._dir / JOURNAL_FILE
        tmp = path.with_name(JOURNAL_FILE + ".tmp")
        fd = os.open(tmp, os.O_RDWR | os.O_CREAT | os.O_TRUNC, 0o644)
        offsets: list[int] = []
        try:
            parts: list[bytes] = [_MAGIC]
            offset = len(_MAGIC)
            for command, index, term in keep:
                header, body = _encode(command, index, term)
                offsets.append(offset)
                parts += (header, body)
                offset += len(header) + len(body)
            write_all(fd, b"".join(parts))
            del parts
            if self._fsync:
                os.fsync(fd)
            os.replace(tmp, path)
            if self._fsync:
                fsync_directory(self._dir)
        except BaseException:
            os.close(fd)
            raise
        os.close(self._fd)
        self._fd = fd
        self._entries = list(keep)
        self._offsets = offsets
        self._end = offset
        self._dirty = False

    def _store_meta(self) -> None:
        store_meta(self._dir, self._meta, fsync=self._fsync)
        self._meta_dirty = False
