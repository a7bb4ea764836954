"""Which failures stop a node as storage failures (one line, exit 74) and which are bugs (their
traceback goes to the log): node/fatal.py."""

from __future__ import annotations

import errno

from log.journal import JournalError
from node.fatal import storage_failure


def test_a_failed_journal_is_a_storage_failure_wherever_it_sits() -> None:
    journal = JournalError("raft journal I/O in /data/log failed (No space left on device)")
    assert storage_failure(journal) == str(journal)
    nested = BaseExceptionGroup("serve", [ExceptionGroup("group", [RuntimeError("x"), journal])])
    assert storage_failure(nested) == str(journal)
    try:
        try:
            raise journal
        except JournalError as exc:
            raise RuntimeError("the raft log stopped") from exc
    except RuntimeError as caused:
        assert storage_failure(caused) == str(journal)


def test_disk_errors_of_the_store_and_of_the_system_are_storage_failures() -> None:
    rocksdb = Exception("IO error: No space left on device: While appending to file: 000004.log")
    assert "RocksDB" in (storage_failure(ExceptionGroup("g", [rocksdb])) or "")
    for code in (errno.ENOSPC, errno.EIO, errno.EROFS, errno.EDQUOT):
        assert storage_failure(OSError(code, "disk")) is not None


def test_anything_else_is_not() -> None:
    assert storage_failure(RuntimeError("IO error: a bug's message")) is None
    assert storage_failure(Exception("Invalid argument: a RocksDB misuse")) is None
    assert storage_failure(OSError(errno.ECONNREFUSED, "refused")) is None
    assert storage_failure(ExceptionGroup("g", [ValueError("bug"), KeyError("k")])) is None
