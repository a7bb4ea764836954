"""The simulated cluster: N nodes, and per partition group one log and a member on every node
(member i of each group lives on node i, as in node/membership.py), each a real partition
processor (node.processor) over its own real RocksDB store, with real leader units and
shuffles, the simulated invoker, and the real campaign (node.campaign) over the simulated
Raft (sim/raft.py): it announces its member when Raft elects it, stops its leader unit when
Raft deposes it, advises trim points and hands leadership back to the preferred node.

A member crashes (kill -9) by having its processor and campaign cancelled (its leader unit,
invoker, timers and shuffle with them) and its store closed: nothing in memory survives; its
store and its log's durable part (what it held, its trim point, its Raft term and vote) do. It
restarts as a new incarnation (a new leader epoch) from them. A node crash is a crash of all
its members at once.

Membership: a removed member is stopped and its data wiped; added back, it starts from a copy
of the leader's store at its applied position (`Store.checkpoint`, what node/snapshot.py
ships) and its log resumes after that position, as a learner until it holds every entry, then
a voter. A member that the leader's compaction left behind installs such a snapshot the same
way instead of replaying.
"""

from __future__ import annotations

import asyncio
import functools
import os
import random
import shutil
import traceback
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

from log.api import Error as LogError
from log.lsn import raft_index_of
from log.raft import RaftLog
from node import leader
from node.campaign import Campaign
from node.processor import PartitionProcessor
from node.proposer import Proposer
from partition import context
from partition.routing import Partitioning
from partition.state_machine import StateMachine
from partition.store import Store
from perdure_proto import records_pb2 as rec
from sim import invoker
from sim.log import GroupLog, MemberLog
from sim.loop import PROCESS, SimClock, VirtualLoop
from sim.network import Network
from sim.nodes import Nodes
from sim.nodes import name as node_name
from sim.raft import TICK_S, Handle
from sim.trace import Trace

RETRY_S = 0.05  # between attempts to append a cluster record
CLEANUP_S = 1.0  # the leaders' cleaners purge expired invocations this often
CHANGE_RETRY_S = 0.1  # between attempts of a membership change
STOP_S = 1.0  # a cancelled processor stops within this (it awaits nothing that takes time)
LEADER_UNIT = "leader-unit"  # the name node.processor gives a leader unit's task


@dataclass(slots=True)
class Setup:
    """What every member shares."""

    partitioning: Partitioning
    clock: SimClock
    nodes: Nodes
    network: Network
    env: invoker.Environment
    trace: Trace
    tasks: asyncio.TaskGroup
    root: Path
    trim_every: int
    retain_entries: int  # node.campaign: how far a lagging member may fall behind
    retention_ms: int  # of completed invocations (idempotency and workflow retention)
    failures: list[str]
    stuck: list[str]  # processes that did not stop when cancelled (a "stop-hangs" violation)

    def options(self, group: int) -> context.Options:
        """The state machine's options: the same for every replica of `group`."""
        r = self.retention_ms
        return context.Options(r, r, group=group, partitioning=self.partitioning)


class Member:
    def __init__(self, setup: Setup, log: GroupLog, group: int, node: int) -> None:
        self.name = f"{node_name(node)}.g{group}"
        self.group = group
        self.node = node
        self.incarnation = 0
        self.store: Store | None = None
        self.processor: PartitionProcessor | None = None
        self._setup = setup
        self._log = log
        self._view: MemberLog | None = None
        self._task: asyncio.Task[None] | None = None
        self._cancelled_at: dict[asyncio.Task[Any], float] = {}  # tasks seen cancelling

    @property
    def up(self) -> bool:
        return self._task is not None

    @property
    def leads(self) -> bool:
        return self.processor is not None and self.processor.active

    @property
    def path(self) -> Path:
        return self._setup.root / self.name

    def start(self) -> None:
        s = self._setup
        self.incarnation += 1
        self._cancelled_at.clear()
        raft = self._log.raft
        raft.set_alive(self.node, True)
        store = Store(self.path)
        view = self._log.view(self.node, self._check_trim)
        name = f"{self.name}#{self.incarnation}"
        proposer = Proposer(view, clock=s.clock.now_ms)
        processor = PartitionProcessor(
            view,
            store,
            StateMachine(store, s.options(self.group)),
            proposer,
            self.name,
            self.incarnation,
            lambda: None,
            leader.Options(cleanup_period_s=CLEANUP_S, group=self.group),
            clock=s.clock,
            trim_every=s.trim_every,
            deliverer=s.network.at(self.node),
            invoker_factory=invoker.factory(s.env, name, self._log),
            replicated=True,
        )
        campaign = Campaign(
            cast(RaftLog, Handle(raft, self.node)),  # the campaign reads only what Handle has
            proposer,
            processor,
            self.name,
            self.incarnation,
            s.clock,
            # Raft's roles change at its ticks here: looking more often finds nothing new.
            period_s=TICK_S,
            preferred=lambda: raft.address(s.nodes.preferred(self.group)),
            retain_entries=s.retain_entries,
        )
        self.store, self._view, self.processor = store, view, processor
        self._task = s.tasks.create_task(self._run(processor, campaign), name=name)
        self._event(f"start {name}")

    async def crash(self) -> None:
        task, self._task = self._task, None
        if task is None:
            return
        process = f"{self.name}#{self.incarnation}"
        self._event(f"crash {process}")
        task.cancel()
        await asyncio.wait([task], timeout=STOP_S)
        if not task.done():
            # Its processor, given the cancellation that also stops a leader unit on a step
            # down, did not stop: whatever awaits that stop in a node would wait forever.
            loop = asyncio.get_running_loop()
            left = sorted({t.get_name() for t in cast(VirtualLoop, loop).tasks_of(process)})
            self._setup.stuck.append(
                f"{process} did not stop within {STOP_S} s of being cancelled (still running: "
                f"{', '.join(left)})"
            )
            await self._kill(process)
        await asyncio.gather(task, return_exceptions=True)
        self._log.raft.set_alive(self.node, False)
        if self._view is not None:
            await self._view.close()
        if self.store is not None:
            self.store.close()
        self.store = self._view = self.processor = None

    def hung(self) -> bool:
        """Whether a leader unit of this member's process was stopped (cancelled, on a step
        down or a new announcement) STOP_S or more ago and still runs. Only the unit's own
        task counts: on Python 3.11 a task whose TaskGroup lost a child keeps a stale
        `cancelling()` count (the group's uncancel comes too early), though nobody cancelled
        it."""
        if self._task is None:
            return False
        loop = cast(VirtualLoop, asyncio.get_running_loop())
        now = loop.time()
        return any(
            t.get_name() == LEADER_UNIT
            and t.cancelling()
            and now - self._cancelled_at.setdefault(t, now) >= STOP_S
            for t in loop.tasks_of(f"{self.name}#{self.incarnation}")
        )

    async def _kill(self, process: str) -> None:
        """kill -9: cancel every task the process started until none is left."""
        loop = cast(VirtualLoop, asyncio.get_running_loop())
        while left := loop.tasks_of(process):
            for t in left:
                t.cancel()
            await asyncio.wait(left, timeout=STOP_S)

    def wipe(self) -> None:
        """Lose everything on disk (the member must be down)."""
        shutil.rmtree(self.path, ignore_errors=True)

    def install_from(self, source: Member) -> int:
        """Replace this (stopped) member's store with a checkpoint of `source`'s (running)
        store; returns the checkpoint's applied position."""
        if source.store is None:
            raise RuntimeError(f"{source.name} has no open store to copy")
        incoming = self.path.with_name(self.name + ".incoming")
        shutil.rmtree(incoming, ignore_errors=True)
        lsn = source.store.checkpoint(incoming) or 0
        self.wipe()
        os.replace(incoming, self.path)
        self._event(
            f"{self.name} installs a snapshot of {source.name} through entry {raft_index_of(lsn)}"
        )
        return lsn

    async def _run(self, processor: PartitionProcessor, campaign: Campaign) -> None:
        PROCESS.set(f"{self.name}#{self.incarnation}")
        try:
            async with asyncio.TaskGroup() as tg:
                tg.create_task(processor.run(), name=f"{self.name}-processor")
                tg.create_task(campaign.run(), name=f"{self.name}-campaign")
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
    def __init__(self, setup: Setup, logs: list[GroupLog], rng: random.Random):
        self.setup = setup
        self.logs = logs
        self.nodes = setup.nodes
        self.groups = [
            [Member(setup, log, g, n) for n in range(setup.nodes.count)]
            for g, log in enumerate(logs)
        ]
        self._rng = rng
        self._installing: set[tuple[int, int]] = set()
        for log in logs:
            log.on_snapshot_needed = functools.partial(self._snapshot_needed, log.group)

    def members(self) -> list[Member]:
        return [m for group in self.groups for m in group]

    def on_node(self, node: int) -> list[Member]:
        return [group[node] for group in self.groups]

    def belongs(self, member: Member) -> bool:
        """Whether `member` is in its group's membership (a voter or a learner)."""
        raft = self.logs[member.group].raft
        return member.node in raft.voters | raft.learners

    async def append(self, group: int, envelope: rec.Envelope) -> int:
        """Append a cluster record (a registration) through any node until it is durable."""
        while True:
            envelope.timestamp_ms = self.setup.clock.now_ms()
            node = self._rng.randrange(self.nodes.count)
            try:
                return await self.logs[group].append_from(node, envelope.SerializeToString())
            except LogError:
                await asyncio.sleep(RETRY_S)

    def leader(self, group: int) -> Member | None:
        """The member Raft elected last in `group`, if it still leads and runs."""
        node = self.logs[group].raft.current_leader()
        member = None if node is None else self.groups[group][node]
        return member if member is not None and member.up else None

    async def crash_node(self, node: int) -> None:
        self._event(f"crash node {node_name(node)}")
        for member in self.on_node(node):
            await member.crash()

    def start_node(self, node: int) -> None:
        self._event(f"start node {node_name(node)}")
        for member in self.on_node(node):
            if not member.up and self.belongs(member):
                member.start()

    async def remove(self, member: Member, give_up: asyncio.Event) -> bool:
        """Remove `member` from its group (once a leader can), stop it and wipe its data."""
        raft = self.logs[member.group].raft
        while not raft.remove(member.node):
            if give_up.is_set() or member.node not in raft.voters:
                return False
            await asyncio.sleep(CHANGE_RETRY_S)
        await member.crash()
        member.wipe()
        return True

    async def add(self, member: Member) -> None:
        """Add `member` back to its group: empty, from a snapshot of the leader, as a learner,
        then a voter once it holds every entry."""
        g = member.group
        raft = self.logs[g].raft
        while True:
            source = self._source(member)
            if source is not None:
                break
            await asyncio.sleep(CHANGE_RETRY_S)
        await member.crash()
        lsn = member.install_from(source)
        raft.add_learner(member.node, raft_index_of(lsn))
        self.logs[g].installed(member.node, lsn)
        member.start()
        while not raft.promote(member.node):
            await asyncio.sleep(CHANGE_RETRY_S)
            if not member.up and self.belongs(member):
                member.start()  # crashed meanwhile: it comes back

    def _source(self, member: Member) -> Member | None:
        """Whom `member` copies a snapshot from: its group's leader, if it reaches it."""
        source = self.leader(member.group)
        if source is None or source is member or source.store is None:
            return None
        return source if self.nodes.linked(source.node, member.node) else None

    def _snapshot_needed(self, group: int, node: int) -> None:
        if (group, node) not in self._installing:
            self._installing.add((group, node))
            self.setup.tasks.create_task(self._install(group, node), name="install-snapshot")

    async def _install(self, group: int, node: int) -> None:
        """A member behind the leader's compaction point: stop it, install a snapshot of the
        leader's store, start it again (node/snapshot.py's catch_up, in one step)."""
        try:
            member = self.groups[group][node]
            source = self._source(member)
            if source is None or not member.up:
                self.logs[group].snapshot_failed(node)  # asked again at the next tick
                return
            await member.crash()
            lsn = member.install_from(source)
            self.logs[group].installed(node, lsn)
            member.start()
        finally:
            self._installing.discard((group, node))

    def _event(self, what: str) -> None:
        self.setup.trace.event(asyncio.get_running_loop().time(), what)
