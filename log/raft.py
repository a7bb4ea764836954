"""`RaftLog`: the log contract (log/api.py) on pysyncobj 0.3.17, replicated and durable.

What "durable" means here. With `fsync=True` (the default) an append returns its LSN only after
its batch is (1) committed by Raft: stored on a majority of the group (this member alone when
there are no partners) and (2) `fdatasync`ed to the journal file on every member that counted
towards that majority, and on this member. A record whose append returned therefore survives
process crashes and power loss of any minority, and a restart of every member; on restart it is
read back (at the same LSN) by `read`. Term and vote are fsynced (file, rename, directory) before
pysyncobj acts on them. With `fsync=False`, the same holds for process crashes only (page cache).
See log/journal.py for the file format and the exact sync points.

How it is built:

* Group commit (log/group_commit.py): concurrent appends are collected for at most
  `group_commit_window` seconds (or `max_batch_bytes`), serialized once as a protobuf `Batch` and
  submitted as ONE replicated pysyncobj command carrying only that `bytes` blob.
* LSNs are `raft_index << 20 | offset_in_batch` (log/lsn.py): strictly increasing, equal on every
  member, stable across restarts.
* pysyncobj runs on its own tick thread (`autoTickPeriod` = `tick_period`), which also does every
  journal write and sync. Why not drive pysyncobj from the event loop
  (research/feas/raft_asyncio.py, ~25 % faster in the e2e prototype without fsync)? Its journal
  calls are synchronous and it sends the acknowledgement right after them, so a sync could not leave
  the loop thread without rewriting pysyncobj's follower path; a 0.2-4 ms (rarely 100+ ms) fdatasync
  on the loop would stall every request. On the tick thread, `os.fdatasync` releases the GIL and the
  loop keeps accepting and batching while a sync is in flight. The price is one thread handoff per
  burst of events (log/bridge.py, the only place where anything crosses from that thread to
  asyncio).
* Members reject appends with `NotLeader` unless they lead (no forwarding to the leader). When a
  leader steps down (it saw a higher term, or heard from no majority for
  `leader_fallback_timeout`), its in-flight appends fail with `NotLeader` instead of waiting for
  pysyncobj's verdict, which may never come.
* Timers, buffers and the rest of pysyncobj's configuration: log/raft_options.py.

Trim and compaction (log/compaction.py has the details). pysyncobj keeps every entry of its log
in RAM (our journal is that log) and our read buffer keeps committed records, so both grow until
`trim(up_to)`. `trim` drops the buffer's records <= up_to at once, then has pysyncobj's thread
store the trim point and compact the journal through the last entry holding only records
<= up_to; it returns once that is durable (a few ms: one small meta write, one rewrite of the
retained entries, one manifest write). From then on neither pysyncobj's in-memory log nor the
journal file holds those entries (two index/term stubs stand for them), and a restart resumes
after them: reading from <= up_to raises `Trimmed`, reading from up_to + 1 yields every later
record once. Memory and the journal file are bounded by what was committed since the last trim
(plus what is in flight). The caller must only trim what its own state holds durably.

A member that lacks entries another member has compacted (it was down, cut off, or is new) cannot
catch up from the log: it fails with `SnapshotNeeded` (appends, reads and `start` raise it) and
the leader logs a warning naming it. Moving state between members (snapshot transfer) is not
automated yet; such a member must be restored from an up-to-date member's data or rebuilt.
Members that keep up are unaffected; each member compacts on its own trims.

Caveats:

* Our journal has no 4 GiB limit (pysyncobj's FileJournal has); a single Raft entry must stay
  under 4 GiB. Each compaction rewrites the entries after the trim point (cheap when trims follow
  the applied position closely, as the node's do).
* Membership is static (`partners`); no dynamic changes, no learners.
* After a leader change, an append may fail with `NotLeader`/`Error` and yet be committed; records
  must carry their own ids (see log/api.py). An append whose caller is cancelled may still commit.
* pysyncobj's wire format is pickle. With `secret` set (the node always sets one), every message
  is authenticated before it is unpickled (log/auth.py) and a peer without the secret is
  disconnected; without it, anyone who can reach the port can run code. The port binds to
  `bind_address` (default: `self_address`); keep it on a private network either way.
"""

from __future__ import annotations

import asyncio
import enum
import itertools
import logging
import os
import random
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Literal, assert_never

from google.protobuf.message import DecodeError

from log.api import Closed, Entry, Error, NotLeader, SnapshotNeeded
from log.bridge import (
    Bridge,
    Committed,
    Compacted,
    Event,
    JournalFailed,
    Ready,
    RoleChanged,
    Stopped,
    SubmitDone,
    Undecodable,
)
from log.buffer import CommittedBuffer
from log.compaction import Compaction
from log.group_commit import GroupCommit, PendingBatch
from log.journal import DurableJournal
from log.lsn import MAX_RECORDS_PER_BATCH, make_lsn, raft_index_of
from log.raft_options import RaftOptions, syncobj_conf
from log.replica import (
    LEADER_STATE,
    SUCCESS,
    BindError,
    Replica,
    release_wakeup_pipe,
    start_replica,
    submit_failure,
)
from log.signal import Signal
from log.snapshot import LogPoint, log_point
from perdure_proto.log_pb2 import Batch

__all__ = ["RaftLog", "RaftOptions", "RaftStats", "RaftStatus"]

logger = logging.getLogger(__name__)

# Batches submitted but not yet committed before new appends wait for one to settle (group
# commit); 1 keeps fsyncs per record lowest, and a lone append still goes out at once.
MAX_BATCHES_IN_FLIGHT = 1

_STOP_TIMEOUT = 5.0


@dataclass(frozen=True, slots=True)
class RaftStats:
    batches_committed: int
    records_committed: int
    journal_syncs: int
    raft_entries: int = 0
    """Entries in pysyncobj's in-memory log (our journal is that log), stubs included."""
    journal_bytes: int = 0
    """Size of the journal file."""
    buffered_records: int = 0
    """Committed records the read buffer holds (those not trimmed)."""
    compacted_index: int = 0
    """Raft index through which the log is compacted (0: never)."""
    compactions: int = 0
    """Journal compactions since start."""


@dataclass(frozen=True, slots=True)
class RaftStatus:
    """What this member knows of its group now (read-only; for operators, not for decisions)."""

    self_address: str
    """This member's 'host:port' (its id in the group)."""
    partners: tuple[str, ...]
    role: Literal["leader", "candidate", "follower"]
    """This member's Raft role ("follower" also before start and after close)."""
    leader_address: str | None
    """The member this one believes leads, None when it knows of none."""
    term: int
    """pysyncobj's current Raft term (0 before start)."""
    commit_index: int
    """Raft index of the newest entry this member knows is committed (0 before start)."""
    committed_lsn: int | None
    """Position of the newest committed record this member has taken in (None: none yet)."""


_ROLES: dict[int, Literal["leader", "candidate", "follower"]] = {
    0: "follower",
    1: "candidate",
    2: "leader",
}


class _Phase(enum.Enum):
    NEW = "new"
    STARTING = "starting"
    RUNNING = "running"
    CLOSED = "closed"


class RaftLog:
    """One member of a Raft group holding one log. See the module docstring for guarantees."""

    def __init__(
        self,
        options: RaftOptions,
        *,
        sync_file: Callable[[int], None] = os.fdatasync,
        on_commit: Callable[[float, int], None] | None = None,
    ) -> None:
        """`sync_file(fd)` performs each journal data sync (a seam for tests and metrics; it must
        really sync). `on_commit(seconds, records)` is told of each batch this member appended
        once it is committed: how long it took from submission, and how many records it held."""
        self._options = options
        self._on_commit = on_commit
        self._submitted_at: dict[int, float] = {}
        self._sync_file = sync_file
        self._phase = _Phase.NEW
        self._buffer = CommittedBuffer()
        self._group_commit = GroupCommit(
            window=options.group_commit_window,
            max_bytes=options.max_batch_bytes,
            max_records=MAX_RECORDS_PER_BATCH,
            submit=self._submit,
            busy=lambda: len(self._inflight) >= MAX_BATCHES_IN_FLIGHT,
        )
        self._inflight: dict[int, PendingBatch] = {}
        self._tickets = itertools.count(1)
        self._bridge: Bridge | None = None
        self._journal: DurableJournal | None = None
        self._compaction: Compaction | None = None
        self._replica: Replica | None = None
        self._ready = False
        self._stopped = asyncio.Event()
        self._changed = Signal()
        self._fatal: Error | None = None
        self._batches_committed = 0
        self._records_committed = 0
        self._last_raft_index = 0  # of the newest committed batch the loop has seen
        self._leader_term: int | None = None  # the term this member was elected leader in
        self._replay_floor = -1  # trim point stored before the last start: filtered on replay
        self._compaction_tickets = itertools.count(1)
        self._requested = (0, -1)  # (through raft index, trimmed lsn) last asked for
        self._last_ticket = 0
        self._done_ticket = 0
        self._trim_waiters: list[tuple[int, asyncio.Future[None]]] = []

    # --- the Log contract -----------------------------------------------------------------------

    async def start(self) -> None:
        """Open the journal, start the member and return once it is ready: it replayed its journal
        (every replayed record is readable) and caught up with the group; a single member also
        leads. Raises `Error` if the directory is in use, the port cannot be bound, or the member
        is not ready within `start_timeout`."""
        if self._phase is not _Phase.NEW:
            raise Error(f"start() was already called on this RaftLog ({self._phase.value})")
        self._phase = _Phase.STARTING
        options = self._options
        bridge = self._bridge = Bridge(asyncio.get_running_loop(), self._handle)

        def open_journal() -> tuple[DurableJournal, Compaction]:
            journal = DurableJournal(
                options.data_dir, fsync=options.fsync, sync_file=self._sync_file
            )
            try:
                compaction = Compaction(
                    journal,
                    data_dir=options.data_dir,
                    member=options.self_address,
                    partners=options.partners,
                    on_done=lambda ticket: bridge.post(Compacted(ticket)),
                )
                compaction.prepare()
            except BaseException:
                journal.close()
                raise
            return journal, compaction

        try:
            journal, compaction = await asyncio.to_thread(open_journal)
        except Error as e:  # JournalError, MetaError: in use, unreadable, I/O
            self._abandon_start(e)
            raise
        if self._phase is _Phase.CLOSED:  # close() ran while the journal was opening
            journal.close()
            raise Closed("the log was closed while starting")
        # Resume after the stored trim point: pysyncobj replays only entries after the compacted
        # ones; records of them that are <= the trim point are dropped as they arrive.
        self._replay_floor = journal.trimmed_lsn
        self._buffer.start_after(journal.trimmed_lsn)
        self._last_raft_index = journal.compacted_index
        self._requested = (journal.compacted_index, journal.trimmed_lsn)
        self._compaction = compaction
        journal.set_listeners(
            on_failure=lambda error: bridge.post(JournalFailed(error)),
            on_closed=lambda: bridge.post(Stopped()),
        )
        self._journal = journal
        conf = syncobj_conf(
            options,
            on_ready=lambda: bridge.post(Ready()),
            on_state_changed=lambda old, new: bridge.post(RoleChanged(old, new, self.term())),
            compaction=compaction,
        )
        try:
            self._replica = start_replica(
                self_address=options.self_address,
                partners=options.partners,
                conf=conf,
                journal=journal,
                compaction=compaction,
                on_committed=self._on_committed,
            )
        except BindError as e:
            journal.close()
            error = Error(
                f"could not listen on raft address {conf.bindAddress} ({e}): the port is probably "
                f"in use; stop whatever holds it or configure another port"
            )
            self._abandon_start(error)
            raise error from e
        replica = self._replica
        if options.joining:  # out of elections at once (its first deadline is >= 150 ms away)
            replica.call_on_tick(lambda: _set_election_timeout(replica, _NEVER_S, _NEVER_S + 1))
        compaction.cluster = lambda: (
            options.self_address,
            *sorted(str(n.id) for n in replica.otherNodes),
        )
        await self._wait_ready()
        if options.joining:  # a leader added this member and it caught up: it may stand now
            low, high = options.raft_min_timeout, options.raft_max_timeout
            replica.call_on_tick(lambda: _set_election_timeout(replica, low, high))

    def _abandon_start(self, error: Error) -> None:
        self._phase = _Phase.CLOSED
        self._buffer.close(error)
        self._changed.wake()

    def append(self, record: bytes) -> asyncio.Future[int]:
        """Append `record`; the future gets its LSN once it is committed and durable (module
        docstring). Queued at once, so appends commit in call order.

        The future fails with `NotLeader` if this member does not lead (retry on the leader),
        `Closed` after `close()`, `Error` for a record over `max_record_bytes` or a failed submit
        (the message says which; the record may or may not be committed).

        A plain function returning the group commit's future, not a coroutine: callers that
        track appends (the invoker, per invocation per batch) get a future without wrapping a
        coroutine in a Task."""
        try:
            self._check_running()
            if len(record) > self._options.max_record_bytes:
                raise Error(
                    f"record of {len(record)} bytes exceeds max_record_bytes "
                    f"({self._options.max_record_bytes}); split it or store it elsewhere"
                )
            if not self.is_leader():
                raise self._not_leader()
        except Error as exc:
            failed: asyncio.Future[int] = asyncio.get_running_loop().create_future()
            failed.set_exception(exc)
            return failed
        return self._group_commit.add(bytes(record))

    def read(self, from_lsn: int) -> AsyncIterator[Entry]:
        return self._buffer.read(from_lsn)

    def read_batches(self, from_lsn: int, max_entries: int) -> AsyncIterator[list[Entry]]:
        return self._buffer.read_batches(from_lsn, max_entries)

    async def trim(self, up_to: int) -> None:
        """Forget records with LSN <= up_to (committed ones; see the module docstring): drop them
        from the read buffer at once, then return once the trim point is stored and pysyncobj's
        log and the journal are compacted through the last entry holding only such records (on
        pysyncobj's thread; durable when this returns). Call it only for records the caller's
        own state holds durably: after a restart they are gone (reading them raises `Trimmed`).

        Raises `Closed` if the log is closed meanwhile, or the error that stopped the member."""
        self._check_running()
        compaction = self._compaction
        if compaction is None:  # cannot happen once running
            raise Error("bug: a running RaftLog has no compaction")
        through = self._compactable_through(up_to)
        self._buffer.trim(up_to)
        requested_through, requested_trimmed = self._requested
        wanted = (max(through, requested_through), max(self._buffer.trimmed_to, requested_trimmed))
        if wanted != self._requested:
            self._requested = wanted
            self._last_ticket = next(self._compaction_tickets)
            compaction.request(self._last_ticket, *wanted)
        if self._last_ticket > self._done_ticket:  # wait for ours (or an earlier, same request)
            done = asyncio.get_running_loop().create_future()
            self._trim_waiters.append((self._last_ticket, done))
            await done

    def is_leader(self) -> bool:
        replica = self._replica
        return (
            self._phase is _Phase.RUNNING
            and self._fatal is None
            and replica is not None
            and bool(replica._isLeader())
        )

    def leader_address(self) -> str | None:
        """The member this one believes leads ('host:port'), None when it knows of none. Cheap
        (no status snapshot): for per-request routing."""
        replica = self._replica
        leader = replica._getLeader() if replica is not None else None
        return None if leader is None else str(getattr(leader, "address", leader))

    def leader_term(self) -> int | None:
        """The term this member was elected leader in, None unless it leads. Consistent, unlike
        `is_leader()` with `term()` read one after the other: pysyncobj moves its term before
        its role on another thread, so a leader deposed in term t+1 can be read as "leader in
        term t+1" between the two."""
        term = self._leader_term
        return term if term is not None and self.is_leader() else None

    def term(self) -> int:
        """This member's current Raft term (0 before start). Cheap, like `leader_address`."""
        replica = self._replica
        return 0 if replica is None else int(replica.raftCurrentTerm)

    def partner_progress(self) -> dict[str, tuple[int, bool]]:
        """On the leader: each partner's Raft match index (the last entry it is known to hold;
        0 until it answered this leader) and whether it is connected. Empty elsewhere."""
        replica = self._replica
        if not self.is_leader() or replica is None:
            return {}
        raw: dict[str, object] = replica.getStatus()
        return {
            partner: (
                _as_int(raw.get("match_idx_server_" + partner)),
                _as_int(raw.get("partner_node_status_server_" + partner)) == 2,
            )
            for partner in self.members()
            if partner != self._options.self_address
        }

    def members(self) -> tuple[str, ...]:
        """The group's current configuration as this member knows it (raft addresses, sorted;
        this member included unless it was removed): the configured partners, changed by the
        membership changes in the log (pysyncobj applies one when it is appended)."""
        replica = self._replica
        if replica is None:
            return tuple(sorted((self._options.self_address, *self._options.partners)))
        others = {str(n.id) for n in replica.otherNodes}
        return tuple(sorted({self._options.self_address, *others}))

    async def change_membership(self, add: bool, address: str, timeout: float = 10.0) -> None:
        """Add member `address` ('host:port') to the group, or remove it: one Raft
        configuration change through the log, returning once it is committed. Only on the
        leader, one change at a time (pysyncobj refuses one while another is uncommitted), never
        this member itself. Raises `NotLeader`, or `Error` if refused or not committed in time."""
        self._check_running()
        replica = self._replica
        if replica is None or not self.is_leader():
            raise self._not_leader()
        if address == self._options.self_address:
            raise Error("a leader cannot change its own membership; move the leadership first")
        loop = asyncio.get_running_loop()
        done: asyncio.Future[int] = loop.create_future()

        def settle(error: int) -> None:
            if not done.done():
                done.set_result(error)

        def callback(result: object, error: int) -> None:  # the tick thread
            loop.call_soon_threadsafe(settle, error)

        change = replica.addNodeToCluster if add else replica.removeNodeFromCluster
        change(address, callback=callback)
        try:
            error = await asyncio.wait_for(done, timeout)
        except TimeoutError:
            raise Error(f"the configuration change was not committed within {timeout} s") from None
        if error != SUCCESS:
            raise Error(
                f"Raft refused the configuration change ({_FAIL_REASONS.get(error, error)}): "
                f"another change may still be uncommitted, or leadership moved; retry"
            )

    def transfer_leadership(self, to: str | None = None) -> bool:
        """Ask Raft to hand this member's leadership to member `to` ('host:port'; None: the most
        caught-up one) with a TimeoutNow. Best effort: pysyncobj refuses unless the target has
        every entry, and nothing is certain until `is_leader` says so. False when this member
        does not lead."""
        replica = self._replica
        if not self.is_leader() or replica is None:
            return False
        replica.call_on_tick(lambda: replica.transferLeadership(to))
        return True

    async def snapshot_point(self, lsn: int, timeout: float = 5.0) -> LogPoint:
        """Where a member installing a snapshot of this member's state through `lsn` resumes its
        log (log/snapshot.py), worked out on the tick thread that owns the journal. Raises
        `NoLogPoint` (e.g. trimmed past `lsn` meanwhile: take a newer snapshot), or `Error` when
        this member is not running."""
        self._check_running()
        replica, journal = self._replica, self._journal
        if replica is None or journal is None:
            raise Error("the raft member is not running")
        loop = asyncio.get_running_loop()
        answer: asyncio.Future[LogPoint] = loop.create_future()

        def settle(point: LogPoint | None, error: Error | None) -> None:
            if answer.done():
                return
            if error is not None:
                answer.set_exception(error)
            else:
                answer.set_result(point)  # type: ignore[arg-type]

        def compute() -> None:  # the tick thread
            try:
                nodes = (self._options.self_address, *(str(n.id) for n in replica.otherNodes))
                point = log_point(journal, lsn, tuple(sorted(nodes)))
            except Error as error:
                loop.call_soon_threadsafe(settle, None, error)
            else:
                loop.call_soon_threadsafe(settle, point, None)

        replica.call_on_tick(compute)
        try:
            return await asyncio.wait_for(answer, timeout)
        except TimeoutError:
            raise Error(f"the raft member did not answer within {timeout} s") from None

    async def wait_leader(self, timeout: float) -> bool:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while not self.is_leader():
            remaining = deadline - loop.time()
            if remaining <= 0 or self._phase is _Phase.CLOSED:
                return False
            try:
                await asyncio.wait_for(self._changed.wait(), remaining)
            except TimeoutError:
                return self.is_leader()
        return True

    async def close(self) -> None:
        """Fail pending appends with `Closed`, stop pysyncobj's thread, release port and files.
        Idempotent. Appends already submitted may still have been committed."""
        if self._phase is _Phase.CLOSED:
            return
        self._phase = _Phase.CLOSED
        closed = Closed("the log was closed")
        self._group_commit.fail_pending(closed)
        self._fail_inflight(
            Closed(
                "the log was closed before this append's outcome was known; "
                "it may or may not be committed"
            )
        )
        self._fail_trims(Closed("the log was closed before this trim was durable"))
        self._buffer.close(closed)
        self._changed.wake()
        await self._stop_replica()

    # --- extras ---------------------------------------------------------------------------------

    @property
    def stats(self) -> RaftStats:
        journal = self._journal
        if journal is None:
            return RaftStats(self._batches_committed, self._records_committed, 0)
        return RaftStats(
            batches_committed=self._batches_committed,
            records_committed=self._records_committed,
            journal_syncs=journal.sync_count,
            raft_entries=len(journal),
            journal_bytes=journal.size_bytes,
            buffered_records=len(self._buffer),
            compacted_index=journal.compacted_index,
            compactions=journal.compactions,
        )

    def status(self) -> RaftStatus:
        """This member's view of its group, from pysyncobj's `getStatus()` (a snapshot taken
        without stopping the tick thread, so figures may be a tick apart). Event-loop thread."""
        options = self._options
        replica = self._replica
        raw: dict[str, object] = replica.getStatus() if replica is not None else {}
        leader = raw.get("leader")
        last = self._buffer.last_lsn
        return RaftStatus(
            self_address=options.self_address,
            partners=options.partners,
            role=_ROLES.get(_as_int(raw.get("state")), "follower"),
            leader_address=None if leader is None else str(getattr(leader, "address", leader)),
            term=_as_int(raw.get("raft_term")),
            commit_index=_as_int(raw.get("commit_idx")),
            committed_lsn=None if last < 0 else last,
        )

    # --- internals (event-loop thread unless noted) -----------------------------------------------

    async def _wait_ready(self) -> None:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self._options.start_timeout
        while True:
            if self._phase is _Phase.CLOSED:
                raise self._fatal or Closed("the log was closed while starting")
            if self._fatal is not None:  # e.g. SnapshotNeeded while catching up
                fatal = self._fatal
                await self.close()
                raise fatal
            if self._ready and (self._options.partners or self._leads()):
                break
            remaining = deadline - loop.time()
            if remaining <= 0:
                await self.close()
                raise Error(self._not_ready_message())
            try:
                await asyncio.wait_for(self._changed.wait(), remaining)
            except TimeoutError:
                continue
        self._phase = _Phase.RUNNING

    def _leads(self) -> bool:
        replica = self._replica
        return replica is not None and bool(replica._isLeader())

    def _not_ready_message(self) -> str:
        options = self._options
        if not options.partners:
            return (
                f"raft member {options.self_address} did not elect itself and replay its journal "
                f"within {options.start_timeout} s; the journal may be very large (raise "
                f"start_timeout) or the machine overloaded"
            )
        return (
            f"raft member {options.self_address} did not catch up with a leader within "
            f"{options.start_timeout} s: a majority of {(options.self_address, *options.partners)} "
            f"must be running and reachable; check the addresses and start the partners"
        )

    def _check_running(self) -> None:
        if self._phase is _Phase.RUNNING:
            if self._fatal is not None:
                raise self._fatal
            return
        if self._phase is _Phase.CLOSED:
            raise self._fatal or Closed("the log was closed; appends and trims are refused")
        raise Error("the log is not started; call and await start() first")

    def _not_leader(self) -> NotLeader:
        leader = self.leader_address()
        where = "no leader is known" if leader is None else f"the last known leader is {leader}"
        return NotLeader(
            f"raft member {self._options.self_address} does not lead its group ({where}); "
            f"append on the leader, or wait_leader() and retry"
        )

    def _submit(self, batch: PendingBatch) -> None:
        """GroupCommit hands over one batch: submit it as one replicated command."""
        replica = self._replica
        if self._fatal is not None:
            batch.fail(self._fatal)
            return
        if self._phase is not _Phase.RUNNING or replica is None:
            batch.fail(Closed("the log was closed before this batch was submitted; not committed"))
            return
        if not self.is_leader():
            batch.fail(self._not_leader())
            return
        bridge = self._bridge
        if bridge is None:  # cannot happen once running; fail loudly rather than hang
            batch.fail(Error("bug: a running RaftLog has no bridge to its raft thread"))
            return
        ticket = next(self._tickets)
        self._inflight[ticket] = batch
        self._submitted_at[ticket] = time.perf_counter()
        blob = Batch(records=batch.records).SerializeToString()

        def done(raft_index: int | None, reason: int) -> None:  # pysyncobj's thread (or this one)
            bridge.post(SubmitDone(ticket, raft_index, reason))

        replica.append_batch(blob, callback=done)

    def _compactable_through(self, up_to: int) -> int:
        """The highest raft index whose entry, and every one before it, holds only records with
        LSN <= up_to (or already trimmed ones), among the committed entries seen here."""
        after = self._buffer.first_after(up_to)
        if after is not None:
            return raft_index_of(after.lsn) - 1
        return self._last_raft_index

    def _on_committed(self, raft_index: int, blob: bytes) -> None:
        """pysyncobj's thread: a batch is committed and durable here; pass it on."""
        bridge = self._bridge
        if bridge is None:
            return
        try:
            records = Batch.FromString(blob).records
        except DecodeError as e:
            bridge.post(Undecodable(raft_index, f"not a log Batch ({e})"))
            return
        if len(records) > MAX_RECORDS_PER_BATCH:
            bridge.post(Undecodable(raft_index, f"{len(records)} records exceed the LSN scheme"))
            return
        bridge.post(Committed(raft_index, list(records)))

    def _handle(self, event: Event) -> None:
        match event:
            case Committed(raft_index, records):
                floor = self._replay_floor
                self._buffer.extend(
                    Entry(lsn, record)
                    for i, record in enumerate(records)
                    if (lsn := make_lsn(raft_index, i)) > floor
                )
                self._last_raft_index = raft_index
                self._batches_committed += 1
                self._records_committed += len(records)
            case SubmitDone(ticket, raft_index, reason):
                self._on_submit_done(ticket, raft_index, reason)
            case Ready():
                self._ready = True
                self._changed.wake()
            case RoleChanged(old, new, term):
                self._leader_term = term if new == LEADER_STATE else None
                if old == LEADER_STATE and new != LEADER_STATE:
                    self._fail_inflight(
                        NotLeader(
                            f"raft member {self._options.self_address} lost leadership while "
                            f"this append was in flight; it may or may not be committed: retry "
                            f"on the new leader with the same record ids"
                        )
                    )
                self._changed.wake()
            case JournalFailed(error):
                self._poison(error)
            case Compacted(ticket):
                self._done_ticket = max(self._done_ticket, ticket)
                waiting, self._trim_waiters = self._trim_waiters, []
                for wanted, done in waiting:
                    if wanted > self._done_ticket:
                        self._trim_waiters.append((wanted, done))
                    elif not done.done():
                        done.set_result(None)
            case Undecodable(raft_index, reason):
                self._poison(
                    Error(
                        f"the committed raft entry {raft_index} is unreadable: {reason}; this "
                        f"member stopped serving the log; report it, and rebuild the member"
                    )
                )
            case Stopped():
                self._stopped.set()
            case _:
                assert_never(event)

    def _on_submit_done(self, ticket: int, raft_index: int | None, reason: int) -> None:
        batch = self._inflight.pop(ticket, None)
        submitted_at = self._submitted_at.pop(ticket, None)
        if batch is None:  # already failed by close()
            return
        if reason == SUCCESS and raft_index is not None:
            if self._on_commit is not None and submitted_at is not None:
                self._on_commit(time.perf_counter() - submitted_at, len(batch.records))
            batch.succeed(lambda offset: make_lsn(raft_index, offset))
        else:
            batch.fail(submit_failure(reason))
        self._group_commit.kick()

    def _poison(self, error: Error) -> None:
        """Stop serving for good: fail everything, and leave the group (the tick thread stops
        and closes the port, so the other members elect a leader that can still write)."""
        if self._fatal is None:
            self._fatal = error
            level = logging.WARNING if isinstance(error, SnapshotNeeded) else logging.ERROR
            logger.log(level, "raft log %s stopped: %s", self._options.self_address, error)
            if self._replica is not None:
                self._replica.destroy()
        self._group_commit.fail_pending(error)
        self._fail_inflight(error)
        self._fail_trims(error)
        self._buffer.close(error)
        self._changed.wake()

    def _fail_trims(self, error: Error) -> None:
        waiting, self._trim_waiters = self._trim_waiters, []
        for _, done in waiting:
            if not done.done():
                done.set_exception(error)

    def _fail_inflight(self, error: Error) -> None:
        inflight, self._inflight = self._inflight, {}
        self._submitted_at.clear()
        for batch in inflight.values():
            batch.fail(error)

    async def _stop_replica(self) -> None:
        replica, self._replica = self._replica, None
        if replica is None:
            return
        if not self._stopped.is_set():
            if replica.tick_thread_alive():
                replica.destroy()  # the tick thread closes transport and journal, then exits
                try:
                    await asyncio.wait_for(self._stopped.wait(), _STOP_TIMEOUT)
                except TimeoutError:
                    # Stuck (e.g. in a very slow fsync): leave its files to it, do not race it.
                    logger.warning(
                        "raft thread of %s did not stop within %s s; it will release its port "
                        "and files when it gets unstuck",
                        self._options.self_address,
                        _STOP_TIMEOUT,
                    )
                    return
            else:
                replica._doDestroy()  # the thread died early: release what it opened ourselves
        replica.destroy_synchronous()  # joins the thread, which has exited or is exiting
        if self._journal is not None:
            self._journal.close()
        release_wakeup_pipe(replica)


_FAIL_REASONS = {
    1: "queue full",
    2: "missing leader",
    3: "discarded",
    4: "not leader",
    5: "leader changed",
    6: "request denied",
    7: "unknown outcome",
}


_NEVER_S = 10.0**9  # an election timeout that never ends


def _set_election_timeout(replica: Replica, low: float, high: float) -> None:
    """Tick thread: elections start after `low`..`high` s without a leader (pysyncobj reads its
    configuration at each deadline; the current deadline is moved too)."""
    conf = replica.conf
    conf.raftMinTimeout, conf.raftMaxTimeout = low, high
    replica._SyncObj__raftElectionDeadline = time.monotonic() + random.uniform(low, high)


def _as_int(value: object) -> int:
    return value if isinstance(value, int) else 0
