"""A simulated replicated log per partition group, and each member's copy of it.

`GroupLog` is the group's committed sequence; sim/raft.py decides who may add to it. An append
goes through one member (`append(record, via)`): refused at once (`NotLeader`) unless that
member believes it leads; otherwise it waits its commit latency and then commits only if the
member still leads the newest term and reaches a majority of the current voters holding every
earlier entry (it stays queued while it does not, and fails when the member steps down: a
cut-off leader acknowledges nothing). Appends through one member commit in the order they were
made. Faults, decided by the seed at append time: the append is lost (it fails, nothing is
committed) or its outcome is unknown (it commits, and the appender is told it failed, as across
a leader change of the real log).

Entries have the real log's positions (log/lsn.py: one record per Raft entry, LSN
`index << 20`), so node.campaign's trim advice means here what it means in a node.

`MemberLog` is one member's copy (log.api.Log) for one run of its process: it starts with what
the member's log durably holds (after its own trim point, up to `Raft.held`) and receives the
rest as the leader sends it, late by the replication lag. `trim` compacts that member's log
only (durably: a restart starts after it). A member behind the leader's compaction point
cannot catch up from the log: `on_snapshot_needed` says so, and sim/cluster.py installs a copy
of an up-to-date member's store.
"""

from __future__ import annotations

import asyncio
import random
from collections import deque
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass

from log.api import Closed, Entry, Error, NotLeader
from log.buffer import CommittedBuffer
from log.lsn import make_lsn, raft_index_of
from perdure_proto import records_pb2 as rec
from sim.channel import Channel
from sim.nodes import Nodes
from sim.raft import TICK_S, Raft
from sim.trace import Trace


@dataclass(slots=True)
class AppendFaults:
    lost: float = 0.0
    unknown: float = 0.0
    max_latency_s: float = 0.004
    max_lag_s: float = 0.0  # how late a member's copy may learn of a commit


@dataclass(slots=True)
class _Pending:
    due: float
    record: bytes
    fut: asyncio.Future[int]
    outcome: str  # "ok", "lost", "unknown"
    tag: str
    term: int


def lsn_of(index: int) -> int:
    return make_lsn(index, 0)


class GroupLog:
    def __init__(
        self, group: int, members: int, nodes: Nodes, rng: random.Random, trace: Trace
    ) -> None:
        self.group = group
        self.faults = AppendFaults()
        self.entries: list[Entry] = []
        self.commit_times: list[float] = []  # of entries[i]
        self.tags: list[str] = []  # who appended entries[i] (sim/invoker.py tags its effects)
        self.next_tag = ""  # consumed by the next append
        self.raft = Raft(group, members, nodes, rng, trace)
        self.raft.last_index = lambda: len(self.entries)
        self.raft.on_step_down = self._stepped_down
        self.trimmed = [0] * members  # LSN each member's log is compacted through (durable)
        self.on_snapshot_needed: Callable[[int], None] = lambda member: None
        self._rng = rng
        self._trace = trace
        self._queues: list[deque[_Pending]] = [deque() for _ in range(members)]
        self._timers: list[asyncio.TimerHandle | None] = [None] * members
        self._views: dict[int, MemberLog] = {}
        self._needs_snapshot: set[int] = set()

    @property
    def last_lsn(self) -> int:
        return lsn_of(len(self.entries)) if self.entries else 0

    def idle(self) -> bool:
        return not any(self._queues)

    async def run(self) -> None:
        """Raft's heartbeat: every TICK_S, until cancelled."""
        while True:
            await asyncio.sleep(TICK_S)
            self.tick()

    def tick(self) -> None:
        for member in self.raft.tick():
            self._catch_up(member)
        for member in range(len(self._queues)):
            self._flush(member)

    def append(self, record: bytes, via: int) -> asyncio.Future[int]:
        loop = asyncio.get_running_loop()
        tag, self.next_tag = self.next_tag, ""
        fut: asyncio.Future[int] = loop.create_future()
        term = self.raft.leading[via]
        if not self.raft.leads(via) or term is None:
            fut.set_exception(
                NotLeader(f"simulated: {self.raft.address(via)} does not lead group {self.group}")
            )
            return fut
        roll = self._rng.random()
        outcome = "ok"
        if roll < self.faults.lost:
            outcome = "lost"
        elif roll < self.faults.lost + self.faults.unknown:
            outcome = "unknown"
        queue = self._queues[via]
        due = loop.time() + self._rng.uniform(0, self.faults.max_latency_s)
        if queue:
            due = max(due, queue[-1].due)
        queue.append(_Pending(due, bytes(record), fut, outcome, tag, term))
        if self._timers[via] is None:
            self._timers[via] = loop.call_at(queue[0].due, self._flush, via)
        return fut

    def append_from(self, node: int, record: bytes) -> asyncio.Future[int]:
        """Append as a request entering at `node` does: forwarded to the leader that node
        reaches (`Raft.route`); fails at once when it reaches none."""
        via = self.raft.route(node)
        if via is None:
            fut: asyncio.Future[int] = asyncio.get_running_loop().create_future()
            fut.set_exception(
                NotLeader(f"simulated: node n{node} reaches no leader of group {self.group}")
            )
            return fut
        return self.append(record, via)

    def _flush(self, via: int) -> None:
        loop = asyncio.get_running_loop()
        timer, self._timers[via] = self._timers[via], None
        if timer is not None:
            timer.cancel()
        queue = self._queues[via]
        committed: list[Entry] = []
        while queue and queue[0].due <= loop.time():
            p = queue[0]
            if p.outcome != "lost":
                if not self.raft.can_commit(via):
                    break  # waits for a majority (the next tick looks again) or a step-down
                entry = Entry(lsn_of(len(self.entries) + 1), p.record)
                self.entries.append(entry)
                self.commit_times.append(loop.time())
                self.tags.append(p.tag)
                self.raft.committed(len(self.entries), via)
                committed.append(entry)
                self._trace.data(p.record)
            queue.popleft()
            if p.outcome != "ok":
                what = _describe(p.record)
                self._trace.event(loop.time(), f"log g{self.group}: append {p.outcome}: {what}")
            if p.fut.done():
                continue  # the appender went away (cancelled): the log commits regardless
            if p.outcome == "ok":
                p.fut.set_result(entry.lsn)
            else:
                what = "was lost" if p.outcome == "lost" else "has an unknown outcome"
                p.fut.set_exception(Error(f"simulated: the append to group {self.group} {what}"))
        if committed:
            for view in self._views.values():
                view.sync()
        if queue and queue[0].due > loop.time():
            self._timers[via] = loop.call_at(queue[0].due, self._flush, via)

    def _stepped_down(self, member: int) -> None:
        """`member` no longer leads: what it was appending will never commit through it."""
        queue = self._queues[member]
        timer, self._timers[member] = self._timers[member], None
        if timer is not None:
            timer.cancel()
        while queue:
            p = queue.popleft()
            if not p.fut.done():
                p.fut.set_exception(
                    NotLeader(
                        f"simulated: {self.raft.address(member)} lost leadership of group "
                        f"{self.group} while this append was in flight"
                    )
                )

    def _catch_up(self, member: int) -> None:
        """The leader sends `member` the entries it lacks, or finds it needs a snapshot."""
        raft = self.raft
        leader = raft.current_leader()
        held = raft.held[member]
        if leader is None or held >= len(self.entries):
            return
        if held < raft_index_of(self.trimmed[leader]):
            if member not in self._needs_snapshot:
                self._needs_snapshot.add(member)
                self._trace.event(
                    asyncio.get_running_loop().time(),
                    f"log g{self.group}: {raft.address(member)} holds entry {held}, the leader "
                    f"compacted through {raft_index_of(self.trimmed[leader])}: snapshot needed",
                )
                self.on_snapshot_needed(member)
            return
        raft.held[member] = len(self.entries)
        view = self._views.get(member)
        if view is not None:
            view.sync()

    def event(self, what: str) -> None:
        self._trace.event(asyncio.get_running_loop().time(), f"log g{self.group}: {what}")

    def snapshot_failed(self, member: int) -> None:
        self._needs_snapshot.discard(member)

    def installed(self, member: int, lsn: int) -> None:
        """`member` installed a snapshot through `lsn`: its log resumes after it."""
        self._needs_snapshot.discard(member)
        self.trimmed[member] = lsn
        self.raft.reset(member, raft_index_of(lsn))

    def view(self, member: int, check_trim: Callable[[int], None]) -> MemberLog:
        view = MemberLog(self, member, check_trim, self._rng)
        self._views[member] = view
        return view

    def drop(self, view: MemberLog) -> None:
        if self._views.get(view.member) is view:
            del self._views[view.member]


def _describe(record: bytes) -> str:
    envelope = rec.Envelope.FromString(record)
    kind = envelope.WhichOneof("command") or "?"
    if kind == "deliver":
        d = envelope.deliver
        seqs = ",".join(str(m.seq) for m in d.messages)
        kinds = ",".join(str(m.message.WhichOneof("kind")) for m in d.messages)
        return f"deliver from g{d.producer} seq {seqs} ({kinds})"
    if kind == "invoker_effect":
        return f"invoker_effect of {envelope.invoker_effect.invocation_id}"
    return kind


class MemberLog:
    """One member's copy of its group's log (log.api.Log), for one run of its process."""

    def __init__(
        self,
        group: GroupLog,
        member: int,
        check_trim: Callable[[int], None],
        rng: random.Random,
    ) -> None:
        self.member = member
        self._group = group
        self._check_trim = check_trim
        self._buffer = CommittedBuffer()
        trimmed = group.trimmed[member]
        if trimmed > 0:
            self._buffer.start_after(trimmed)
        held = group.entries[raft_index_of(trimmed) : group.raft.held[member]]
        self._buffer.extend(held)
        self.received = held[-1].lsn if held else trimmed
        # Commits reach this copy late (replication lag), in order.
        self._incoming: Channel[list[Entry]] = Channel(
            self._buffer.extend, rng, group.faults.max_lag_s
        )

    @property
    def trimmed_to(self) -> int:
        return max(0, self._buffer.trimmed_to)

    def sync(self) -> None:
        """Receive what this member's log holds and this copy has not seen yet."""
        group = self._group
        entries = group.entries[raft_index_of(self.received) : group.raft.held[self.member]]
        if not entries:
            return
        self.received = entries[-1].lsn
        self._incoming.max_latency_s = self._group.faults.max_lag_s
        self._incoming.send(entries)

    async def start(self) -> None:
        pass

    def append(self, record: bytes) -> asyncio.Future[int]:
        return self._group.append(record, self.member)

    def read(self, from_lsn: int) -> AsyncIterator[Entry]:
        return self._buffer.read(from_lsn)

    def read_batches(self, from_lsn: int, max_entries: int) -> AsyncIterator[list[Entry]]:
        return self._buffer.read_batches(from_lsn, max_entries)

    async def trim(self, up_to: int) -> None:
        if up_to <= self.trimmed_to:
            return
        self._check_trim(up_to)
        self._buffer.trim(up_to)
        group = self._group
        if self._buffer.trimmed_to > group.trimmed[self.member]:
            group.trimmed[self.member] = self._buffer.trimmed_to
            group.event(
                f"{group.raft.address(self.member)} compacted through entry "
                f"{raft_index_of(self._buffer.trimmed_to)}"
            )

    def is_leader(self) -> bool:
        return self._group.raft.leads(self.member)

    async def wait_leader(self, timeout: float) -> bool:
        return self.is_leader()

    async def close(self) -> None:
        self._incoming.close()
        self._group.drop(self)
        self._buffer.close(Closed("this member stopped"))
