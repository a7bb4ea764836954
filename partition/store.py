"""The partition store: RocksDB as a materialised view of the partition log.

Writes go through a `Transaction`: an overlay that sees its own writes, committed as ONE RocksDB
WriteBatch together with the applied log position, so a restart resumes right after the last
applied record and a record is never applied twice. Writes are not synced: durability comes
from the (fsync'd) log, and after a crash the log is replayed from the stored applied position
(rocksdict holds the GIL during a synced write, see research/feasibility.md section 3).
"""

from __future__ import annotations

import bisect
import hashlib
import struct
from collections.abc import Callable
from pathlib import Path
from typing import Any

from rocksdict import (
    AccessType,
    BlockBasedOptions,
    Cache,
    Checkpoint,
    Options,
    Rdict,
    ReadOptions,
    WriteBatch,
    WriteOptions,
)

from partition import keys

_APPLIED = keys.META + b"applied"
BLOCK_CACHE_BYTES = 32 * 1024 * 1024
WRITE_BUFFER_BYTES = 16 * 1024 * 1024


def next_prefix(prefix: bytes) -> bytes:
    """Smallest key greater than every key that starts with `prefix`."""
    buf = bytearray(prefix)
    while buf and buf[-1] == 0xFF:
        buf.pop()
    if not buf:
        return b"\xff" * (len(prefix) + 1)
    buf[-1] += 1
    return bytes(buf)


class Store:
    """One RocksDB database holding every table of a partition, told apart by key prefix."""

    def __init__(self, path: Path | str, statistics: bool = False) -> None:
        """`statistics` turns on RocksDB's own counters (`wal_syncs`); they cost a few percent
        of write throughput, so they are off unless asked for."""
        opts = Options(raw_mode=True)
        opts.create_if_missing(True)
        if statistics:
            opts.enable_statistics()
        self._opts = opts
        self._statistics = statistics
        table = BlockBasedOptions()
        # Most point reads miss (a new invocation id, a free key lock): bloom filters answer
        # those without touching every SST file, so reads stay flat as the store grows.
        table.set_bloom_filter(10, False)
        table.set_block_cache(Cache(BLOCK_CACHE_BYTES))
        table.set_cache_index_and_filter_blocks(True)
        opts.set_block_based_table_factory(table)
        opts.increase_parallelism(2)
        # Memtables of 16 MiB (RocksDB's default is 64): a few big rows (a 31 MiB request's
        # input and output) reach the disk, and their memory is freed, sooner.
        opts.set_write_buffer_size(WRITE_BUFFER_BYTES)
        self._db = Rdict(str(path), opts)
        self._write_opts = WriteOptions()
        self._write_opts.sync = False

    @property
    def path(self) -> Path:
        """The store's directory."""
        return Path(self._db.path())

    def get(self, key: bytes) -> bytes | None:
        value = self._db.get(key)
        return None if value is None else bytes(value)

    def scan(self, prefix: bytes) -> list[tuple[bytes, bytes]]:
        """Rows whose key starts with `prefix`, in key order."""
        ro = ReadOptions()
        ro.set_iterate_upper_bound(next_prefix(prefix))
        return [(bytes(k), bytes(v)) for k, v in self._db.items(from_key=prefix, read_opt=ro)]  # type: ignore[arg-type]

    def scan_range(self, start: bytes, end: bytes) -> list[tuple[bytes, bytes]]:
        """Rows with start <= key < end, in key order."""
        ro = ReadOptions()
        ro.set_iterate_upper_bound(end)
        return [(bytes(k), bytes(v)) for k, v in self._db.items(from_key=start, read_opt=ro)]  # type: ignore[arg-type]

    def digest(self) -> str:
        """SHA-256 over every row in key order: replicas that applied the same records have the
        same digest (a check of determinism; it reads the whole store)."""
        h = hashlib.sha256()
        for k, v in self._db.items():
            key, value = bytes(k), bytes(v)  # type: ignore[arg-type]
            h.update(len(key).to_bytes(4, "big") + key + len(value).to_bytes(4, "big") + value)
        return h.hexdigest()

    def checkpoint(self, path: Path) -> int | None:
        """Write a consistent copy of the store to the new directory `path` (a RocksDB
        checkpoint: SST files hard-linked, the memtable flushed first) and return its applied
        position (None before the first record). Later commits are not in the copy."""
        Checkpoint(self._db).create_checkpoint(str(path))
        copy = Rdict(str(path), Options(raw_mode=True), access_type=AccessType.read_only())
        try:
            raw = copy.get(_APPLIED)
        finally:
            copy.close()
        return None if raw is None else int(struct.unpack(">Q", bytes(raw))[0])

    def size_bytes(self) -> int:
        """Bytes of the store's live SST files and memtables (RocksDB's own estimates)."""
        total = 0
        for name in ("rocksdb.total-sst-files-size", "rocksdb.cur-size-all-mem-tables"):
            total += self._db.property_int_value(name) or 0
        return total

    def applied_lsn(self) -> int | None:
        """The position of the last applied record, None before the first one."""
        raw = self.get(_APPLIED)
        return None if raw is None else int(struct.unpack(">Q", raw)[0])

    def transaction(self) -> Transaction:
        return Transaction(self)

    def pinned_iterator(self) -> Any:
        """A raw RocksDB iterator that reads the store as it is now, wherever it seeks, however
        long it is kept (its implicit snapshot; `partition.read_view` wraps it)."""
        return self._db.iter(ReadOptions())

    def write(self, batch: WriteBatch) -> None:
        self._db.write(batch, self._write_opts)

    def sync(self) -> None:
        """Make every committed transaction durable (fsync RocksDB's write-ahead log).

        Needed before the log may forget records: after that, the store is their only copy.
        rocksdict holds the GIL while syncing, so call this rarely (it stalls the loop ~1 ms)."""
        self._db.flush_wal(True)

    def wal_syncs(self) -> int:
        """How many times RocksDB synced its write-ahead log (its own count, from its statistics;
        needs `statistics=True`)."""
        if not self._statistics:
            raise RuntimeError("Store(statistics=True) is needed to count WAL syncs")
        for line in (self._opts.get_statistics() or "").splitlines():
            if line.startswith("rocksdb.wal.synced "):
                return int(line.rsplit(":", 1)[1])
        raise RuntimeError("RocksDB's statistics have no rocksdb.wal.synced counter")

    def close(self) -> None:
        self._db.close()


class Transaction:
    """Reads see this transaction's own writes; `commit` writes them atomically."""

    def __init__(self, store: Store) -> None:
        self._store = store
        self._puts: dict[bytes, bytes | None] = {}  # None = deleted
        # The keys of `_puts`, sorted: a scan finds its prefix's by bisection, so a record that
        # writes and scans many times (a bulk command over thousands of invocations) does not
        # go through every write of the batch on each scan.
        self._keys: list[bytes] = []
        self._batch = WriteBatch(raw_mode=True)
        self._after_commit: list[Callable[[], None]] = []

    def after_commit(self, callback: Callable[[], None]) -> None:
        """Run `callback` once this transaction's writes are committed (never if they are not):
        how in-memory caches of the store change only with the store."""
        self._after_commit.append(callback)

    def get(self, key: bytes) -> bytes | None:
        if key in self._puts:
            return self._puts[key]
        return self._store.get(key)

    def put(self, key: bytes, value: bytes) -> None:
        if key not in self._puts:
            bisect.insort(self._keys, key)
        self._puts[key] = value
        self._batch.put(key, value)

    def delete(self, key: bytes) -> None:
        if key not in self._puts:
            bisect.insort(self._keys, key)
        self._puts[key] = None
        self._batch.delete(key)

    def delete_prefix(self, prefix: bytes) -> None:
        """Delete every row under `prefix`, one point delete each: RocksDB range tombstones in
        the memtable make every later point read slow (measured: 0.7 -> 40 us per get)."""
        for key, _ in self.scan(prefix):
            self.delete(key)

    def scan(self, prefix: bytes) -> list[tuple[bytes, bytes]]:
        stored = self._store.scan(prefix)
        keys, at = self._keys, bisect.bisect_left(self._keys, prefix)
        if at == len(keys) or not keys[at].startswith(prefix):
            return stored  # nothing of this batch under the prefix (the common case)
        rows = dict(stored)
        while at < len(keys) and keys[at].startswith(prefix):
            k = keys[at]
            value = self._puts[k]
            if value is None:
                rows.pop(k, None)
            else:
                rows[k] = value
            at += 1
        return sorted(rows.items())

    def commit(self, applied_lsn: int) -> None:
        self._batch.put(_APPLIED, struct.pack(">Q", applied_lsn))
        self.commit_derived()

    def commit_derived(self) -> None:
        """Write without moving the applied position: only for rows derived from what the store
        holds (an index rebuilt from the statuses, partition/tables.py), never for a record's."""
        self._store.write(self._batch)
        self._puts.clear()
        self._keys.clear()
        self._batch = WriteBatch(raw_mode=True)
        callbacks, self._after_commit = self._after_commit, []
        for callback in callbacks:
            callback()
