"""`MemoryLog`: the log contract (log/api.py) in memory, for pure tests.

Always the leader; `append` commits at once (nothing is durable: a new MemoryLog starts empty).
LSNs are 1, 2, 3, ... in append order. `trim` really drops records from memory.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

from log.api import Closed, Entry, Error
from log.buffer import CommittedBuffer


class MemoryLog:
    def __init__(self) -> None:
        self._buffer = CommittedBuffer()
        self._next_lsn = 1
        self._started = False
        self._closed = False

    async def start(self) -> None:
        if self._closed:
            raise Closed("this MemoryLog was closed; create a new one")
        self._started = True

    async def append(self, record: bytes) -> int:
        self._check_open()
        lsn = self._next_lsn
        self._next_lsn += 1
        self._buffer.extend((Entry(lsn, bytes(record)),))
        return lsn

    def read(self, from_lsn: int) -> AsyncIterator[Entry]:
        return self._buffer.read(from_lsn)

    def read_batches(self, from_lsn: int, max_entries: int) -> AsyncIterator[list[Entry]]:
        return self._buffer.read_batches(from_lsn, max_entries)

    async def trim(self, up_to: int) -> None:
        self._check_open()
        self._buffer.trim(up_to)

    def is_leader(self) -> bool:
        return self._started and not self._closed

    async def wait_leader(self, timeout: float) -> bool:
        if self.is_leader() or self._closed:
            return self.is_leader()
        await asyncio.sleep(timeout)  # a MemoryLog never becomes leader by itself
        return self.is_leader()

    async def close(self) -> None:
        self._closed = True
        self._buffer.close(Closed("the log was closed"))

    def _check_open(self) -> None:
        if self._closed:
            raise Closed("the log was closed; appends and trims are refused")
        if not self._started:
            raise Error("the log is not started; call `await log.start()` first")
