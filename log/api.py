"""Our log contract. Everything that changes a partition is appended here first.

Guarantees every implementation keeps (checked by tests/log/test_conformance.py):

* `append(record)` returns the record's position (LSN) only once the record is committed and
  durable: on a majority of the group, fsync'd (for durable implementations). Positions are
  strictly increasing in commit order; records appended by one caller commit in call order.
* `read(from_lsn)` yields every committed record with position >= from_lsn, in order, exactly
  once per reader, then waits for more (a tail). It never yields an uncommitted record.
* A record whose `append` raised `log.Error` may or may not have been committed (for example
  across a leader change); callers make records idempotent (ids inside the record).
* `trim(up_to)` lets the log forget records with position <= up_to; readers must not ask for
  them again (after a trim, the state of the reader comes from a snapshot). A reader that does
  (or that falls behind a trim) gets `Trimmed`. Durable implementations also forget them on disk:
  after a restart, reading from a position <= up_to raises `Trimmed`, and reading from up_to + 1
  yields every later record exactly once.
* After `close()`, `append` raises `Closed` and open readers raise `Closed`.
* `is_leader()` says whether appends through this member can succeed now.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable
from dataclasses import dataclass
from typing import Protocol


class Error(Exception):
    """An append or read failed; see the message for the cause and whether to retry."""


class NotLeader(Error):
    """This member does not lead the group; retry on the leader (or later)."""


class Closed(Error):
    """The log was closed."""


class Trimmed(Error):
    """A reader asked for records `trim` already let the log forget; rebuild from a snapshot."""


class SnapshotNeeded(Error):
    """This member lacks records that the rest of the group already trimmed away (it was down or
    cut off for too long, or is new): it cannot catch up from the log. Its state must come from a
    snapshot of an up-to-date member (or the member must be rebuilt); the member stopped serving.

    `leader` is the raft address of the member that compacted past this one (None: unknown) and
    `min_lsn` the trim point of its log (-1: unknown): a snapshot must hold every record up to it.
    """

    def __init__(self, message: str, *, leader: str | None = None, min_lsn: int = -1) -> None:
        super().__init__(message)
        self.leader = leader
        self.min_lsn = min_lsn


@dataclass(frozen=True, slots=True)
class Entry:
    lsn: int
    record: bytes


class Log(Protocol):
    async def start(self) -> None:
        """Open the log (replaying anything durable) and join the group."""
        ...

    def append(self, record: bytes) -> Awaitable[int]:
        """`await log.append(record)` gives the record's position (see the guarantees above)."""
        ...

    def read(self, from_lsn: int) -> AsyncIterator[Entry]: ...

    def read_batches(self, from_lsn: int, max_entries: int) -> AsyncIterator[list[Entry]]:
        """Like `read`, but yields every committed entry available at once as one non-empty
        list (at most `max_entries`), so a reader can apply them together."""
        ...

    async def trim(self, up_to: int) -> None: ...

    def is_leader(self) -> bool: ...

    async def wait_leader(self, timeout: float) -> bool:
        """Wait until this member leads (True) or the timeout passes (False)."""
        ...

    async def close(self) -> None: ...
