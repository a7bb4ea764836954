"""Consistent reads of a partition store for queries (`node/query`), off the event loop.

    view = ReadView(store)          # on the loop: the store as it is at this instant
    await asyncio.to_thread(build_rows, view)   # any ONE thread reads it; later commits unseen
    view.release()

One RocksDB iterator serves every read: an iterator reads the implicit snapshot taken when it
was created, wherever it seeks, so point reads and scans of several tables through one view
agree with each other. (rocksdict's own `Snapshot` applies to point reads only: iterating it
sees writes made after it was taken.) A view pins the data files it reads until it is
released, so keep one per query.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from partition.store import Store, next_prefix


class ReadView:
    """A `tables.ScanReader` / `RangeReader` over a store as it was when the view was made."""

    def __init__(self, store: Store) -> None:
        self._it: Any = store.pinned_iterator()

    @classmethod
    def over(cls, iterator: Any) -> ReadView:
        """A view through a raw RocksDB iterator (of another handle on the same store, e.g. the
        query worker's secondary instance)."""
        view = cls.__new__(cls)
        view._it = iterator
        return view

    def get(self, key: bytes) -> bytes | None:
        it = self._reading()
        it.seek(key)
        return bytes(it.value()) if it.valid() and bytes(it.key()) == key else None

    def scan(self, prefix: bytes) -> list[tuple[bytes, bytes]]:
        """Rows whose key starts with `prefix`, in key order."""
        return self.scan_range(prefix, next_prefix(prefix))

    def scan_range(self, start: bytes, end: bytes) -> list[tuple[bytes, bytes]]:
        """Rows with start <= key < end, in key order."""
        return [(key, bytes(it.value())) for key, it in self._walk(start, end)]

    def scan_keys(self, prefix: bytes) -> list[bytes]:
        """The keys of the rows `scan(prefix)` returns, without reading their values."""
        return [key for key, _ in self._walk(prefix, next_prefix(prefix))]

    def _walk(self, start: bytes, end: bytes) -> Iterator[tuple[bytes, Any]]:
        """Each key with start <= key < end, in order, with the iterator standing on it."""
        it = self._reading()
        it.seek(start)
        while it.valid():
            key = bytes(it.key())
            if key >= end:
                return
            yield key, it
            it.next()

    def release(self) -> None:
        """Unpin the data files; reading the view after this raises."""
        self._it = None

    def _reading(self) -> Any:
        if self._it is None:
            raise RuntimeError("this read view was released")
        return self._it
