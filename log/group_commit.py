"""Group commit: many concurrent appends become one submitted batch.

Runs in the event-loop thread. Adaptive: when the log is idle (`busy()` is false) a batch is
submitted at the end of the current loop turn, so a lone append pays no waiting window; while
earlier batches are in flight, records accumulate until the owner calls `kick()` (a batch
settled) or `window` seconds pass, whichever comes first. A batch is also submitted at once when
it reaches `max_bytes` of records or `max_records` records. A batch holds at most `max_bytes` of
records, unless a single record is bigger (it then travels alone). Guarantees:

* Every record goes into exactly one batch, and batches are submitted in the order their records
  were added (so records added by one caller keep their order).
* A record never waits longer than `window` before its batch is submitted.
* `submit` receives the futures too and must resolve or fail each of them exactly once.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field

from log.api import Error


@dataclass(slots=True)
class PendingBatch:
    """Records waiting to be committed together, and the futures of their appends."""

    records: list[bytes] = field(default_factory=list)
    futures: list[asyncio.Future[int]] = field(default_factory=list)
    size_bytes: int = 0

    def succeed(self, lsn_of: Callable[[int], int]) -> None:
        """Resolve append i with `lsn_of(i)` (skipping appends whose caller gave up)."""
        for i, future in enumerate(self.futures):
            if not future.done():
                future.set_result(lsn_of(i))

    def fail(self, error: Error) -> None:
        for future in self.futures:
            if not future.done():
                future.set_exception(error)
        # The caller may have stopped waiting; never warn "exception was never retrieved".
        for future in self.futures:
            if not future.cancelled():
                future.exception()


class GroupCommit:
    def __init__(
        self,
        *,
        window: float,
        max_bytes: int,
        max_records: int,
        submit: Callable[[PendingBatch], None],
        busy: Callable[[], bool] = lambda: False,
    ) -> None:
        self._window = window
        self._max_bytes = max_bytes
        self._max_records = max_records
        self._submit = submit
        self._busy = busy
        self._pending = PendingBatch()
        self._timer: asyncio.Handle | None = None

    def add(self, record: bytes) -> asyncio.Future[int]:
        """Queue `record`; the returned future gets its LSN once its batch is committed."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[int] = loop.create_future()
        if self._pending.records and self._pending.size_bytes + len(record) > self._max_bytes:
            self.flush()  # keep batches under max_bytes unless one record alone is bigger
        pending = self._pending
        pending.records.append(record)
        pending.futures.append(future)
        pending.size_bytes += len(record)
        if pending.size_bytes >= self._max_bytes or len(pending.records) >= self._max_records:
            self.flush()
        elif self._timer is None:
            if self._busy():
                self._timer = loop.call_later(self._window, self.flush)
            else:
                self._timer = loop.call_soon(self.flush)
        return future

    def kick(self) -> None:
        """A batch settled: submit what accumulated meanwhile, unless still busy."""
        if self._pending.records and not self._busy():
            self.flush()

    def flush(self) -> None:
        """Submit what is pending now, without waiting for the window."""
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        batch, self._pending = self._pending, PendingBatch()
        if batch.records:
            self._submit(batch)

    def fail_pending(self, error: Error) -> None:
        """Fail every record not yet submitted (on close)."""
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        batch, self._pending = self._pending, PendingBatch()
        batch.fail(error)
