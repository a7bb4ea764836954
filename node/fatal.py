"""Storage failures stop a node cleanly: one line saying why, and exit status 74 (EX_IOERR).

A write or sync the disk refused (no space, an I/O error, a read-only remount) cannot be retried
safely: after a failed fsync the kernel may have dropped the dirty pages, and a half-written
journal entry must be cut off by recovery, not written over by a live process. So the member
that hit it stops writing (log/journal.py), the requests waiting on it are answered 503 ("may
or may not have been accepted"), and the process exits. A supervisor (Kubernetes, the node's
first process for its partition processes) starts it again; recovery keeps every entry that
was synced (so every acknowledged request) and drops a torn tail. With the disk still full it
stops again at once, with the same line; once space is back it serves again.

    failure = storage_failure(exc)   # the failure's description, or None: not a storage one
"""

from __future__ import annotations

import errno
from collections.abc import Iterator

from log.journal import JournalError
from node import config

EXIT_STATUS = 74  # sysexits.h EX_IOERR
_ERRNOS = frozenset({errno.ENOSPC, errno.EDQUOT, errno.EIO, errno.EROFS})
_ROCKSDB_IO = "IO error:"  # how RocksDB's Status::IOError reads (rocksdict raises Exception)


def storage_failure(exc: BaseException) -> str | None:
    """Why `exc` (an exception group's members, causes and contexts included) is a storage
    failure, or None if it is not one."""
    for current in _every(exc):
        if isinstance(current, JournalError):
            return str(current)
        if isinstance(current, OSError) and current.errno in _ERRNOS:
            return f"storage I/O failed: {current}"
        if type(current) is Exception and str(current).startswith(_ROCKSDB_IO):
            return f"the partition store (RocksDB) failed: {current}"
    return None


def configuration_error(exc: BaseException) -> str | None:
    """The message of the `config.Error` in `exc`, if any: a setting the data directory or the
    machine refuses, found only once the node started (exit status 2, like a bad setting)."""
    for current in _every(exc):
        if isinstance(current, config.Error):
            return str(current)
    return None


def _every(exc: BaseException) -> Iterator[BaseException]:
    """`exc`, the members of the exception groups in it, and their causes and contexts."""
    seen: set[int] = set()
    pending: list[BaseException] = [exc]
    while pending:
        current = pending.pop()
        if id(current) in seen:
            continue
        seen.add(id(current))
        yield current
        if isinstance(current, BaseExceptionGroup):
            pending.extend(current.exceptions)
        pending.extend(e for e in (current.__cause__, current.__context__) if e is not None)
