"""The committed records a log member holds in memory, and the tails that read them.

Owned by the event-loop thread: every method must be called from it. Guarantees:

* Entries are kept in strictly increasing LSN order (checked on every `extend`).
* `read(from_lsn)` yields each kept entry with lsn >= from_lsn exactly once, in order, then waits
  for `extend` to add more. A reader is safe to cancel while it waits (e.g. under a timeout): it
  resumes where it was. It raises `Trimmed` if it would have to yield a record `trim` dropped,
  and the closing error once `close` was called.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import AsyncIterator, Iterable

from log.api import Entry, Error, Trimmed
from log.invariant import require
from log.signal import Signal


def _lsn(entry: Entry) -> int:
    return entry.lsn


class CommittedBuffer:
    def __init__(self) -> None:
        self._entries: list[Entry] = []
        self._dropped = 0  # entries forgotten by trim; absolute position of _entries[0]
        self._trimmed_to = -1  # lsn of the last forgotten entry
        self._changed = Signal()
        self._error: Error | None = None

    @property
    def last_lsn(self) -> int:
        """LSN of the newest committed entry, or -1 if there is none."""
        if self._entries:
            return self._entries[-1].lsn
        return self._trimmed_to

    @property
    def trimmed_to(self) -> int:
        """LSN of the last forgotten entry (or the `start_after` point), -1 if none."""
        return self._trimmed_to

    def __len__(self) -> int:
        return len(self._entries)

    def start_after(self, lsn: int) -> None:
        """Start an empty buffer as if every entry up to `lsn` had been trimmed (a log restarted
        after trims): reading from `lsn` or below raises `Trimmed`; entries added must follow."""
        require(not self._entries and self._dropped == 0, "start_after on a used buffer")
        self._trimmed_to = lsn

    def extend(self, entries: Iterable[Entry]) -> None:
        """Add committed entries (LSNs must keep increasing) and wake every waiting tail."""
        last = self.last_lsn
        added = False
        for entry in entries:
            require(entry.lsn > last, f"log positions must increase: {entry.lsn} after {last}")
            self._entries.append(entry)
            last = entry.lsn
            added = True
        if added:
            self._changed.wake()

    def trim(self, up_to: int) -> None:
        """Forget entries with lsn <= up_to (only ones that exist: later entries are kept)."""
        cut = bisect_left(self._entries, up_to + 1, key=_lsn)
        if cut == 0:
            return
        self._trimmed_to = self._entries[cut - 1].lsn
        del self._entries[:cut]
        self._dropped += cut

    def first_after(self, lsn: int) -> Entry | None:
        """The first kept entry with a position > lsn, if any."""
        index = bisect_left(self._entries, lsn + 1, key=_lsn)
        return self._entries[index] if index < len(self._entries) else None

    def close(self, error: Error) -> None:
        """Make every open and future tail raise `error` (the first close wins)."""
        if self._error is None:
            self._error = error
        self._changed.wake()

    def read(self, from_lsn: int) -> AsyncIterator[Entry]:
        return _Tail(self, from_lsn)

    def read_batches(self, from_lsn: int, max_entries: int) -> AsyncIterator[list[Entry]]:
        return _BatchTail(self, from_lsn, max_entries)

    def _available(self, position: int, max_entries: int) -> list[Entry]:
        index = position - self._dropped
        return self._entries[index : index + max_entries]

    def _start_position(self, from_lsn: int) -> int:
        if from_lsn <= self._trimmed_to:
            raise Trimmed(
                f"records up to log position {self._trimmed_to} were trimmed, and the reader "
                f"asked to start at {from_lsn}; restore the reader's state from a snapshot "
                f"taken at or after {self._trimmed_to} and read from the position after it"
            )
        return self._dropped + bisect_left(self._entries, from_lsn, key=_lsn)

    async def _next(self, position: int) -> Entry:
        """The entry at absolute `position`, waiting for it if it is not committed yet."""
        while True:
            if self._error is not None:
                raise self._error
            index = position - self._dropped
            if index < 0:
                raise Trimmed(
                    f"the reader fell behind a trim: records up to log position "
                    f"{self._trimmed_to} were forgotten before it read them; restore its state "
                    f"from a snapshot"
                )
            if index < len(self._entries):
                return self._entries[index]
            await self._changed.wait()


class _Tail:
    """One reader. Cancelling a pending `__anext__` (e.g. a timeout) loses nothing: the reader
    stays where it was and the next call continues there."""

    __slots__ = ("_buffer", "_from_lsn", "_position")

    def __init__(self, buffer: CommittedBuffer, from_lsn: int) -> None:
        self._buffer = buffer
        self._from_lsn = from_lsn
        self._position: int | None = None

    def __aiter__(self) -> _Tail:
        return self

    async def __anext__(self) -> Entry:
        if self._position is None:
            self._position = self._buffer._start_position(self._from_lsn)
        entry = await self._buffer._next(self._position)
        self._position += 1
        return entry


class _BatchTail:
    """One reader taking every committed entry available at once (at least one, at most
    `max_entries`); cancelling a pending `__anext__` loses nothing."""

    __slots__ = ("_buffer", "_from_lsn", "_max", "_position")

    def __init__(self, buffer: CommittedBuffer, from_lsn: int, max_entries: int) -> None:
        self._buffer = buffer
        self._from_lsn = from_lsn
        self._max = max(1, max_entries)
        self._position: int | None = None

    def __aiter__(self) -> _BatchTail:
        return self

    async def __anext__(self) -> list[Entry]:
        if self._position is None:
            self._position = self._buffer._start_position(self._from_lsn)
        await self._buffer._next(self._position)  # waits for one; raises trims and closes
        batch = self._buffer._available(self._position, self._max)
        self._position += len(batch)
        return batch
