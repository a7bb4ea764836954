"""The simulated cluster: per partition group, one log and a few members, each a real partition
processor (node.processor) over its own real RocksDB store, with real leader units and shuffles
and the simulated invoker.

A member crashes by having its processor task cancelled (its leader unit, invoker, timers and
shuffle with it) and its store closed: nothing in memory survives. It restarts as a new
incarnation (a new leader epoch) from its store and its own copy of the log, like a restarted
process. Leadership goes through the log, as in a node: the cluster appends `AnnounceLeader`
for the member it picks, and each member's processor starts or stops its leader unit when it
applies an announcement. A deposed leader that has not yet applied the announcement that
deposed it keeps acting meanwhile, as a real one would.
"""

from __future__ import annotations

import asyncio
import random
import traceback
from dataclasses import dataclass
from pathlib import Path

from log.api import Error as LogError
from node import leader
from node.processor import PartitionProcessor
from node.proposer import Proposer
from partition import context
from partition.routing import Partitioning
from partition.state_machine import StateMachine
from partition.store import Store
from perdure_proto import records_pb2 as rec
from sim import invoker
from sim.log import GroupLog, MemberLog
from sim.loop import SimClock
from sim.network import Network
from sim.trace import Trace

RETRY_S = 0.05  # between attempts to append a cluster record
CLEANUP_S = 1.0  # the leaders' cleaners purge expired invocations this often


@dataclass(slots=True)
class Setup:
    """What every member shares."""

    partitioning: Partitioning
    clock: SimClock
    network: Network
    env: invoker.Environment
    trace: Trace
    tasks: asyncio.TaskGroup
    root: Path
    trim_every: int
    retention_ms: int  # of completed invocations (idempotency and workflow retention)
    failures: list[str]

    def options(self, group: int) -> context.Options:
        """The state machine's options: the same for every replica of `group`."""
        r = self.retention_ms
        return context.Options(r, r, group=group, partitioning=self.partitioning)


class Member:
    def __init__(self, setup: Setup, log: GroupLog, group: int, index: int) -> None:
        self.name = f"g{group}m{index}"
        self.group = group
        self.incarnation = 0
        self.store: Store | None = None
        self.processor: PartitionProcessor | None = None
        self._setup = setup
        self._log = log
        self._view: MemberLog | None = None
        self._trimmed_to = 0  # durable: this member's copy of the log starts after it
        self._task: asyncio.Task[None] | None = None

    @property
    def up(self) -> bool:
        return self._task is not None

    @property
    def leads(self) -> bool:
        return self.processor is not None and self.processor.active

    def start(self) -> None:
        s = self._setup
        self.incarnation += 1
        store = Store(s.root / self.name)
        view = self._log.view(self._trimmed_to, self._check_trim)
        options = s.options(self.group)
        name = f"{self.name}#{self.incarnation}"
        processor = PartitionProcessor(
            view,
            store,
            StateMachine(store, options),
            Proposer(view, clock=s.clock.now_ms),
            self.name,
            self.incarnation,
            lambda: None,
            leader.Options(cleanup_period_s=CLEANUP_S, group=self.group),
            clock=s.clock,
            trim_every=s.trim_every,
            deliverer=s.network,
            invoker_factory=invoker.factory(s.env, name, self._log),
        )
        self.store, self._view, self.processor = store, view, processor
        self._task = s.tasks.create_task(self._run(processor), name=name)
        self._event(f"start {name}")

    async def crash(self) -> None:
        task, self._task = self._task, None
        if task is None:
            return
        self._event(f"crash {self.name}#{self.incarnation}")
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        if self._view is not None:
            self._trimmed_to = self._view.trimmed_to
            await self._view.close()
        if self.store is not None:
            self.store.close()
        self.store = self._view = self.processor = None

    async def _run(self, processor: PartitionProcessor) -> None:
        try:
            await processor.run()
        except Exception:
            self._setup.failures.append(
                f"{self.name}: its partition processor failed:\n{traceback.format_exc()}"
            )

    def _check_trim(self, up_to: int) -> None:
        applied = None if self.store is None else self.store.applied_lsn()
        if applied is None or applied < up_to:
            self._setup.failures.append(
                f"{self.name} trimmed its log up to {up_to} but its store applied only {applied}"
            )

    def _event(self, what: str) -> None:
        self._setup.trace.event(asyncio.get_running_loop().time(), what)


class Cluster:
    def __init__(self, setup: Setup, logs: list[GroupLog], members: int, rng: random.Random):
        self.setup = setup
        self.logs = logs
        self.groups = [
            [Member(setup, log, g, i) for i in range(members)] for g, log in enumerate(logs)
        ]
        # The member last announced per group, and the incarnation announced.
        self.leaders: list[tuple[Member, int] | None] = [None] * len(logs)
        self._rng = rng

    def members(self) -> list[Member]:
        return [m for group in self.groups for m in group]

    async def append(self, group: int, envelope: rec.Envelope) -> int:
        """Append a cluster record (a registration, an announcement) until it is durable."""
        while True:
            envelope.timestamp_ms = self.setup.clock.now_ms()
            try:
                return await self.logs[group].append(envelope.SerializeToString())
            except LogError:
                await asyncio.sleep(RETRY_S)

    async def announce(self, member: Member) -> None:
        g = member.group
        self.leaders[g] = (member, member.incarnation)
        self._event(f"announce {member.name}#{member.incarnation} as leader of g{g}")
        cmd = rec.AnnounceLeader(leader_id=member.name, epoch=member.incarnation)
        await self.append(g, rec.Envelope(announce_leader=cmd))

    async def elect(self, group: int) -> None:
        """Announce a live member of `group` (if there is one)."""
        live = [m for m in self.groups[group] if m.up]
        if live:
            await self.announce(self._rng.choice(live))

    def leader(self, group: int) -> Member | None:
        """The announced leader of `group`, if that incarnation of it still runs."""
        announced = self.leaders[group]
        if announced is None:
            return None
        member, incarnation = announced
        return member if member.up and member.incarnation == incarnation else None

    def leaderless(self) -> list[int]:
        return [g for g in range(len(self.groups)) if self.leader(g) is None]

    def _event(self, what: str) -> None:
        self.setup.trace.event(asyncio.get_running_loop().time(), what)
