"""A simulated replicated log per partition group, and each member's view of it.

`GroupLog` is the group's committed sequence (what a Raft majority agreed on). An append takes a
random commit latency; appends commit in the order they were made (the contract: one caller's
records commit in call order). Faults, decided by the seed at append time: the append is lost
(it raises `log.Error`, nothing is committed) or its outcome is unknown (it is committed, and the
appender is told it failed, as across a leader change of the real log).

`MemberLog` is one member's copy (log.api.Log): it receives every commit, and `trim` forgets
records in that copy only, as a Raft member compacts its own log. A member that restarts gets a
new view that starts after its own trim point, so reading below it raises `Trimmed`, as the
durable log does.
"""

from __future__ import annotations

import asyncio
import random
from collections import deque
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass

from log.api import Closed, Entry, Error
from log.buffer import CommittedBuffer
from perdure_proto import records_pb2 as rec
from sim.channel import Channel
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


class GroupLog:
    def __init__(self, group: int, rng: random.Random, trace: Trace) -> None:
        self.group = group
        self.faults = AppendFaults()
        self.entries: list[Entry] = []
        self.commit_times: list[float] = []  # of entries[i]
        self.tags: list[str] = []  # who appended entries[i] (sim/invoker.py tags its effects)
        self.next_tag = ""  # consumed by the next append
        self._rng = rng
        self._trace = trace
        self._queue: deque[_Pending] = deque()
        self._timer: asyncio.TimerHandle | None = None
        self._views: list[MemberLog] = []

    @property
    def last_lsn(self) -> int:
        return len(self.entries)

    def idle(self) -> bool:
        return not self._queue

    def append(self, record: bytes) -> asyncio.Future[int]:
        loop = asyncio.get_running_loop()
        tag, self.next_tag = self.next_tag, ""
        roll = self._rng.random()
        outcome = "ok"
        if roll < self.faults.lost:
            outcome = "lost"
        elif roll < self.faults.lost + self.faults.unknown:
            outcome = "unknown"
        due = loop.time() + self._rng.uniform(0, self.faults.max_latency_s)
        if self._queue:
            due = max(due, self._queue[-1].due)
        self._queue.append(_Pending(due, bytes(record), loop.create_future(), outcome, tag))
        if self._timer is None:
            self._timer = loop.call_at(self._queue[0].due, self._flush)
        return self._queue[-1].fut

    def _flush(self) -> None:
        loop = asyncio.get_running_loop()
        self._timer = None
        committed: list[Entry] = []
        while self._queue and self._queue[0].due <= loop.time():
            p = self._queue.popleft()
            if p.outcome != "lost":
                entry = Entry(len(self.entries) + 1, p.record)
                self.entries.append(entry)
                self.commit_times.append(loop.time())
                self.tags.append(p.tag)
                committed.append(entry)
                self._trace.data(p.record)
            if p.outcome != "ok":
                what = _describe(p.record)
                self._trace.event(loop.time(), f"log g{self.group}: append {p.outcome}: {what}")
            if p.fut.done():
                continue  # the appender went away (cancelled): the log commits regardless
            if p.outcome == "ok":
                p.fut.set_result(len(self.entries))
            else:
                what = "was lost" if p.outcome == "lost" else "has an unknown outcome"
                p.fut.set_exception(Error(f"simulated: the append to group {self.group} {what}"))
        if committed:
            for view in self._views:
                view.receive(committed)
        if self._queue:
            self._timer = loop.call_at(self._queue[0].due, self._flush)

    def view(self, trimmed_to: int, check_trim: Callable[[int], None]) -> MemberLog:
        member = MemberLog(self, trimmed_to, check_trim, self._rng)
        self._views.append(member)
        return member

    def drop(self, view: MemberLog) -> None:
        if view in self._views:
            self._views.remove(view)


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
    """One member's copy of its group's log (log.api.Log)."""

    def __init__(
        self,
        group: GroupLog,
        trimmed_to: int,
        check_trim: Callable[[int], None],
        rng: random.Random,
    ) -> None:
        self._group = group
        self._check_trim = check_trim
        self._buffer = CommittedBuffer()
        if trimmed_to > 0:
            self._buffer.start_after(trimmed_to)
        self._buffer.extend(group.entries[trimmed_to:])
        # Commits reach this copy late (replication lag), in order.
        self._incoming: Channel[list[Entry]] = Channel(
            self._buffer.extend, rng, group.faults.max_lag_s
        )

    @property
    def trimmed_to(self) -> int:
        return max(0, self._buffer.trimmed_to)

    def receive(self, entries: list[Entry]) -> None:
        self._incoming.max_latency_s = self._group.faults.max_lag_s
        self._incoming.send(entries)

    async def start(self) -> None:
        pass

    def append(self, record: bytes) -> asyncio.Future[int]:
        return self._group.append(record)

    def read(self, from_lsn: int) -> AsyncIterator[Entry]:
        return self._buffer.read(from_lsn)

    def read_batches(self, from_lsn: int, max_entries: int) -> AsyncIterator[list[Entry]]:
        return self._buffer.read_batches(from_lsn, max_entries)

    async def trim(self, up_to: int) -> None:
        if up_to <= self.trimmed_to:
            return
        self._check_trim(up_to)
        self._buffer.trim(up_to)

    def is_leader(self) -> bool:
        return True

    async def wait_leader(self, timeout: float) -> bool:
        return True

    async def close(self) -> None:
        self._incoming.close()
        self._group.drop(self)
        self._buffer.close(Closed("this member stopped"))
