"""Everything that touches pysyncobj's classes: our SyncObj, its journal hook and its transport.

* `Replica` is a `SyncObj` with one replicated method, `append_batch(blob: bytes)`. Only `bytes`
  cross pysyncobj (our serialized `Batch`); pysyncobj pickles the call `(method id, (blob,))`
  itself. Its apply hands `(raft index, blob)` to a callback on pysyncobj's tick thread.
* pysyncobj builds its journal with `pysyncobj.syncobj.createJournal(conf.journalFile)` and has no
  parameter to pass one in, so importing this module replaces that function once with a hook that
  returns the `DurableJournal` we handed over for that path (and defers to the original for any
  other path).
* `_SyncingTransport` (a public extension point: `transportClass=`) flushes the journal before any
  message leaves the member, so followers acknowledge only synced entries, and re-wakes the tick
  loop after a tick that appended entries. It also lets `Compaction` (log/compaction.py) screen
  messages in both directions (snapshot dumps, entries below the compaction point), and the
  replica runs `Compaction.on_tick` on every tick.
"""

from __future__ import annotations

import contextlib
import functools
import logging
import os
import queue
import threading
from collections.abc import Callable
from typing import Any

import pysyncobj.syncobj as _syncobj
from pysyncobj import SyncObj, SyncObjConf, replicated
from pysyncobj.config import FAIL_REASON
from pysyncobj.poller import POLL_EVENT_TYPE
from pysyncobj.syncobj import SyncObjException
from pysyncobj.transport import TCPTransport

import log.auth  # (the cluster secret's authenticator, before any SyncObj exists)
import log.wire  # noqa: F401  (installs the fast wire format before any SyncObj exists)
from log.api import Error, NotLeader
from log.compaction import Compaction
from log.journal import JOURNAL_FILE, DurableJournal, JournalError

_handoff_lock = threading.Lock()
_handoff: dict[str, DurableJournal] = {}
_original_create_journal: Callable[[str | None], Any] = _syncobj.createJournal


def _create_journal(journal_file: str | None) -> Any:
    if journal_file is not None:
        with _handoff_lock:
            journal = _handoff.pop(journal_file, None)
        if journal is not None:
            return journal
    return _original_create_journal(journal_file)


if getattr(_syncobj.createJournal, "__module__", None) != __name__:
    _syncobj.createJournal = _create_journal


def _not_our_journal_failure(record: logging.LogRecord) -> bool:
    """pysyncobj logs a traceback for every tick that raised; a failed journal raises on each
    tick until the member is closed, and has said why once already (log/journal.py)."""
    exc = record.exc_info[1] if record.exc_info else None
    return not isinstance(exc, JournalError)


_pysyncobj_log = logging.getLogger(_syncobj.__name__)
if _not_our_journal_failure not in _pysyncobj_log.filters:
    _pysyncobj_log.addFilter(_not_our_journal_failure)


LEADER_STATE = 2  # onStateChanged's states: 0 follower, 1 candidate, 2 leader

SUCCESS: int = FAIL_REASON.SUCCESS
_FAILURE_NAMES = {
    value: name for name, value in vars(FAIL_REASON).items() if not name.startswith("_")
}
_LEADERSHIP_FAILURES: frozenset[int] = frozenset(
    (
        FAIL_REASON.MISSING_LEADER,
        FAIL_REASON.NOT_LEADER,
        FAIL_REASON.LEADER_CHANGED,
        FAIL_REASON.DISCARDED,
    )
)


def submit_failure(reason: int) -> Error:
    """The error every append of a batch gets when pysyncobj reports FAIL_REASON `reason`."""
    name = _FAILURE_NAMES.get(reason, str(reason))
    if reason in _LEADERSHIP_FAILURES:
        return NotLeader(
            f"leadership changed while this append was in flight (pysyncobj: {name}); it was "
            f"probably not committed, but may have been: retry on the leader with the same "
            f"record ids"
        )
    return Error(
        f"raft refused or lost this append (pysyncobj: {name}); it may or may not be "
        f"committed; retry later with the same record ids"
    )


class BindError(Exception):
    """The member could not bind its raft port."""


class _SyncingTransport(TCPTransport):  # type: ignore[misc]
    """TCP transport that (1) syncs the journal before any message leaves, and (2) wakes the tick
    loop right after a tick that appended entries, so the next tick commits them at once instead
    of after `autoTickPeriod` of idle polling (1 ms saved per batch on a single member, where no
    socket event would wake it)."""

    def __init__(
        self, journal: DurableJournal, compaction: Compaction, sync_obj: Any, *args: Any
    ) -> None:
        self._journal = journal
        self._compaction = compaction
        super().__init__(sync_obj, *args)
        self._poller = sync_obj._poller
        self._wake_read, self._wake_write = os.pipe()
        os.set_blocking(self._wake_read, False)
        os.set_blocking(self._wake_write, False)
        self._poller.subscribe(self._wake_read, self._drain_wakeups, POLL_EVENT_TYPE.READ)
        self._entries_seen = journal.entries_added
        sync_obj.addOnTickCallback(self._wake_after_append)

    def send(self, node: Any, message: Any) -> bool:
        self._journal.flush()
        message = self._compaction.screen_outgoing(str(node.id), message)
        return bool(super().send(node, message))

    def _onMessageReceived(self, node: Any, message: Any) -> None:
        def reply(answer: dict[str, Any]) -> bool:
            return self.send(node, answer)

        if self._compaction.screen_incoming(str(node.id), message, reply):
            super()._onMessageReceived(node, message)

    def destroy(self) -> None:
        super().destroy()
        if self._wake_read < 0:
            return
        self._poller.unsubscribe(self._wake_read)
        os.close(self._wake_read)
        os.close(self._wake_write)
        self._wake_read = self._wake_write = -1

    def _wake_after_append(self) -> None:
        # Once per tick that appended (never more), so a stalled commit cannot spin the loop.
        added = self._journal.entries_added
        if added != self._entries_seen:
            self._entries_seen = added
            with contextlib.suppress(BlockingIOError):
                os.write(self._wake_write, b"!")

    def _drain_wakeups(self, fd: int, event: int) -> None:
        with contextlib.suppress(BlockingIOError):
            while os.read(fd, 4096):
                pass


class Replica(SyncObj):  # type: ignore[misc]
    def __init__(
        self,
        self_address: str,
        partners: tuple[str, ...],
        conf: SyncObjConf,
        journal: DurableJournal,
        compaction: Compaction,
        on_committed: Callable[[int, bytes], None],
    ) -> None:
        self._on_committed = on_committed
        self._tick_calls: queue.SimpleQueue[Callable[[], None]] = queue.SimpleQueue()
        super().__init__(
            self_address,
            list(partners),
            conf,
            transportClass=functools.partial(_SyncingTransport, journal, compaction),
        )
        self.addOnTickCallback(compaction.on_tick)
        self.addOnTickCallback(self._run_tick_calls)

    def call_on_tick(self, call: Callable[[], None]) -> None:
        """Run `call` on the tick thread at its next tick (pysyncobj is not thread-safe), which
        comes at once: the tick thread is woken like for an append. Any thread."""
        self._tick_calls.put(call)
        notifier = getattr(self, "_SyncObj__pipeNotifier", None)  # absent: the tick will come
        if notifier is not None:
            notifier.notify()

    def _run_tick_calls(self) -> None:
        while True:
            try:
                call = self._tick_calls.get_nowait()
            except queue.Empty:
                return
            call()

    @replicated  # type: ignore[untyped-decorator]
    def append_batch(self, blob: bytes) -> int:
        # Runs on the tick thread while pysyncobj applies entry raftLastApplied + 1.
        raft_index: int = self.raftLastApplied + 1
        self._on_committed(raft_index, blob)
        return raft_index


def start_replica(
    *,
    self_address: str,
    partners: tuple[str, ...],
    conf: SyncObjConf,
    journal: DurableJournal,
    compaction: Compaction,
    on_committed: Callable[[int, bytes], None],
) -> Replica:
    """Start a member on `journal` (its tick thread starts and binds the port).

    Must be called on a thread that outlives the member (pysyncobj's thread stops when the thread
    that built it exits): the event loop's. Raises `BindError` if the port cannot be bound; the
    journal is then closed.
    """
    key = conf.journalFile
    with _handoff_lock:
        _handoff[key] = journal
    try:
        replica = Replica(self_address, partners, conf, journal, compaction, on_committed)
    finally:
        with _handoff_lock:
            _handoff.pop(key, None)
    try:
        replica.waitBinded()
    except SyncObjException as e:
        replica._doDestroy()  # the tick thread already gave up; release what it opened
        release_wakeup_pipe(replica)
        raise BindError(str(e)) from e
    return replica


def journal_path(data_dir: os.PathLike[str] | str) -> str:
    return os.path.join(data_dir, JOURNAL_FILE)


def release_wakeup_pipe(replica: Replica) -> None:
    """Close the wake-up pipe pysyncobj 0.3.17 opens per member and never closes (2 fds).

    Only after the tick thread has exited. Reads a private attribute of the pinned version; if it
    is not there (another version), the pipe is left alone.
    """
    notifier = getattr(replica, "_SyncObj__pipeNotifier", None)
    for name in ("_PipeNotifier__pipeR", "_PipeNotifier__pipeW"):
        fd = getattr(notifier, name, None)
        if isinstance(fd, int):
            try:
                os.close(fd)
            except OSError:
                pass
            setattr(notifier, name, None)
