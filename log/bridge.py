"""The one place where pysyncobj's thread hands anything to the event loop.

pysyncobj runs elections, replication, journal syncs and the apply of committed entries on its own
tick thread. Everything that thread learns (committed batches, outcomes of our submits, readiness,
role changes, journal failures, finished compactions, shutdown) becomes an `Event` posted here;
the event loop handles the events in the order they were posted. Ordering matters: pysyncobj
applies an entry before it calls the submitter's callback, so a batch's `Committed` is always
handled before its `SubmitDone`, and `Ready` after the replayed entries it follows.

Posting costs one `call_soon_threadsafe` per burst of events, not per event.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from log.api import Error

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Committed:
    """The batch at `raft_index` is committed, durable on this member and applied in Raft order."""

    raft_index: int
    records: Sequence[bytes]


@dataclass(frozen=True, slots=True)
class Undecodable:
    """The committed entry at `raft_index` is not one of our batches (a bug or outside damage)."""

    raft_index: int
    reason: str


@dataclass(frozen=True, slots=True)
class SubmitDone:
    """pysyncobj's verdict on submit `ticket`: `raft_index` on success, else a FAIL_REASON code."""

    ticket: int
    raft_index: int | None
    reason: int


@dataclass(frozen=True, slots=True)
class Ready:
    """The member caught up with the group's commit index (replayed its journal) at least once."""


@dataclass(frozen=True, slots=True)
class RoleChanged:
    """pysyncobj's Raft state changed (0 follower, 1 candidate, 2 leader), in `term` (read on
    the tick thread with the change: the term a new leader was elected in)."""

    old: int
    new: int
    term: int


@dataclass(frozen=True, slots=True)
class JournalFailed:
    """The journal became unusable (I/O error, or this member needs a snapshot)."""

    error: Error


@dataclass(frozen=True, slots=True)
class Compacted:
    """The compaction requested with `ticket` (and every earlier one) is done and durable."""

    ticket: int


@dataclass(frozen=True, slots=True)
class Stopped:
    """pysyncobj destroyed the member: its thread is exiting, port and journal are released."""


Event = (
    Committed | Undecodable | SubmitDone | Ready | RoleChanged | JournalFailed | Compacted | Stopped
)


class Bridge:
    def __init__(self, loop: asyncio.AbstractEventLoop, handle: Callable[[Event], None]) -> None:
        """`handle` runs on `loop`'s thread, once per event, in posting order."""
        self._loop = loop
        self._handle = handle
        self._lock = threading.Lock()
        self._events: list[Event] = []
        self._scheduled = False

    def post(self, event: Event) -> None:
        """Hand `event` to the loop. Safe from any thread; dropped if the loop is closed."""
        with self._lock:
            self._events.append(event)
            if self._scheduled:
                return
            self._scheduled = True
        try:
            self._loop.call_soon_threadsafe(self._drain)
        except RuntimeError:  # the loop is closed: nobody is left to tell
            logger.debug("event loop closed; dropping %r", event)

    def _drain(self) -> None:
        with self._lock:
            events, self._events = self._events, []
            self._scheduled = False
        for event in events:
            try:
                self._handle(event)
            except Exception:
                logger.exception("bug: handling %r from the raft thread failed", event)
