"""The partition store on a real RocksDB: a transaction sees its own writes before it commits,
and range scans stop where they say."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from partition.store import Store


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    s = Store(tmp_path / "store")
    yield s
    s.close()


def commit(store: Store, rows: dict[bytes, bytes], lsn: int = 1) -> None:
    txn = store.transaction()
    for key, value in rows.items():
        txn.put(key, value)
    txn.commit(lsn)


def test_a_transaction_scan_sees_its_own_puts_and_deletes_before_commit(store: Store) -> None:
    commit(store, {b"t/a": b"1", b"t/b": b"2", b"t/c": b"3", b"u/a": b"x"})
    txn = store.transaction()
    txn.delete(b"t/b")
    txn.put(b"t/c", b"changed")
    txn.put(b"t/d", b"new")
    txn.delete(b"t/zz")  # deleting a row that never existed is fine
    assert txn.scan(b"t/") == [(b"t/a", b"1"), (b"t/c", b"changed"), (b"t/d", b"new")]
    assert store.scan(b"t/") == [(b"t/a", b"1"), (b"t/b", b"2"), (b"t/c", b"3")]  # not yet
    txn.commit(2)
    assert store.scan(b"t/") == [(b"t/a", b"1"), (b"t/c", b"changed"), (b"t/d", b"new")]


def test_scan_range_returns_the_rows_from_start_up_to_but_not_including_end(
    store: Store,
) -> None:
    commit(store, {b"r/%d" % n: b"v%d" % n for n in range(1, 7)})
    assert store.scan_range(b"r/2", b"r/5") == [(b"r/2", b"v2"), (b"r/3", b"v3"), (b"r/4", b"v4")]


def test_a_prefix_scan_ending_in_ff_stops_at_the_prefix(store: Store) -> None:
    commit(store, {b"a\xff": b"1", b"a\xff\x00": b"2", b"a\xff\xff": b"3", b"b": b"4"})
    assert store.scan(b"a\xff") == [(b"a\xff", b"1"), (b"a\xff\x00", b"2"), (b"a\xff\xff", b"3")]
    commit(store, {b"\xff": b"5", b"\xff\x00": b"6", b"\xff\x01": b"7"}, lsn=2)
    assert store.scan(b"\xff") == [(b"\xff", b"5"), (b"\xff\x00", b"6"), (b"\xff\x01", b"7")]


def test_counting_wal_syncs_needs_a_store_opened_with_statistics(store: Store) -> None:
    with pytest.raises(RuntimeError, match=r"Store\(statistics=True\) is needed"):
        store.wal_syncs()


def test_a_transaction_can_be_used_again_after_it_commits(store: Store) -> None:
    txn = store.transaction()
    txn.put(b"k/1", b"one")
    txn.commit(1)
    txn.put(b"k/2", b"two")
    txn.commit(2)
    assert store.scan(b"k/") == [(b"k/1", b"one"), (b"k/2", b"two")]
    assert store.applied_lsn() == 2


def test_the_applied_position_holds_any_unsigned_64_bit_position(store: Store) -> None:
    assert store.applied_lsn() is None
    commit(store, {b"k": b"v"}, lsn=2**64 - 1)
    assert store.applied_lsn() == 2**64 - 1
