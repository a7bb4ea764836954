"""Which faults a seed injects, and the loop that injects them.

A seed picks a `Plan`: the shape of the cluster (2 or 3 nodes, each running a member of each of
2 or 3 groups) and how hostile its run is (some seeds are calm, some lose one append in ten).
During the fault phase:

* processes crash (one member, or a whole group's members at once) and come back after a while;
* nodes crash (all their members at once, kill -9) and come back; in some seeds every node is
  restarted at once;
* the network is cut: a node isolated from the others, or a single link between two nodes (a
  partial cut: both still reach the third), healed after a while;
* a node's members are removed from every group, one group at a time (Raft's single-server
  changes), and added back later, empty: they catch up from a snapshot;
* leadership moves to another member (pysyncobj's TimeoutNow).

The probabilistic faults (lost and unknown appends, lost, duplicated, delayed and stale
deliveries, broken invoker links, crashing attempts) act wherever they apply. Then `calm` turns
every fault off, heals the network, finishes membership changes and brings every member back,
so the system can settle.
"""

from __future__ import annotations

import asyncio
import dataclasses
import random
from dataclasses import dataclass

from sim.cluster import Cluster, Member
from sim.log import AppendFaults
from sim.network import DeliveryFaults
from sim.nodes import name as node_name

RATES = (0.0, 0.005, 0.02, 0.08)
KINDS = frozenset({"node-crash", "restart-all", "partition", "partial-cut", "membership"})
CHANGE_DOWNTIME_S = (0.5, 4.0)  # between removing a node's members and adding them back


@dataclass(frozen=True, slots=True)
class Plan:
    groups: int
    nodes: int  # each runs a member of every group
    append_lost: float
    append_unknown: float
    replication_lag_s: float
    delivery: DeliveryFaults
    link_lost: float
    link_latency_s: float
    attempt_crash: float
    suspend: float
    patience_s: float
    crash_mean_s: float  # mean time between process crashes (0: none)
    node_crash_mean_s: float  # mean time between node crashes (0: none)
    max_node_downtime_s: float  # long enough, the others compact past it: it needs a snapshot
    restart_all: bool  # every node restarted at once, once
    cut_mean_s: float  # mean time between network cuts (0: none)
    partial_cuts: bool  # cuts of one link, not only of a whole node
    max_cut_s: float
    membership_changes: int  # how many times a node's members are removed and added back
    leader_change_mean_s: float  # mean time between leader changes (0: none)
    max_downtime_s: float
    operations: int
    trim_every: int
    retain_entries: int
    retention_ms: int

    def kinds(self) -> set[str]:
        """The node-level faults this plan injects."""
        kinds = set()
        if self.node_crash_mean_s:
            kinds.add("node-crash")
        if self.restart_all:
            kinds.add("restart-all")
        if self.cut_mean_s:
            kinds |= {"partition", "partial-cut"} if self.partial_cuts else {"partition"}
        if self.membership_changes:
            kinds.add("membership")
        return kinds

    def describe(self) -> str:
        d = self.delivery
        nodes = ",".join(node_name(n) for n in range(self.nodes))
        cuts = "-"
        if self.cut_mean_s:
            links = "nodes or links" if self.partial_cuts else "nodes"
            cuts = f"{links} every {self.cut_mean_s} s for up to {self.max_cut_s} s"
        return "; ".join(
            (
                f"nodes {nodes}, {self.groups} groups (a member of each on every node), "
                f"{self.operations} requests",
                f"appends lost {self.append_lost} unknown {self.append_unknown}",
                f"replication lag {self.replication_lag_s} s",
                f"deliveries lost {d.lost} unknown {d.unknown} duplicated {d.duplicate} "
                f"stale {d.ghost}{', appended at once' if d.concurrent else ''}",
                f"links lost {self.link_lost}, latency {self.link_latency_s} s",
                f"attempts crash {self.attempt_crash}, suspend {self.suspend}",
                f"process crashes every {self.crash_mean_s or '-'} s",
                f"node crashes every {self.node_crash_mean_s or '-'} s, down for up to "
                f"{self.max_node_downtime_s} s",
                f"all nodes restarted at once: {'yes' if self.restart_all else 'no'}",
                f"network cuts: {cuts}",
                f"nodes removed and added back: {self.membership_changes}",
                f"leader changes every {self.leader_change_mean_s or '-'} s",
                f"trim every {self.trim_every}, retain {self.retain_entries} entries",
                f"results kept {self.retention_ms} ms",
            )
        )


def plan(rng: random.Random, append_all: bool = False, hostile: bool = False) -> Plan:
    """`append_all`: some seeds deliver as node/backend.py `append_all` does (all of a call's
    records appended at once). Off by default while that leaves gaps (a known bug:
    tests/node/test_delivery_order.py); `python -m sim --append-all` shows it. `hostile`: 3
    nodes and every node-level fault, often (`python -m sim --hostile`)."""
    base = _plan(rng, append_all)
    if not hostile:
        return base
    return dataclasses.replace(
        base,
        nodes=3,
        node_crash_mean_s=rng.choice((1.5, 3.0)),
        max_node_downtime_s=rng.choice((2.0, 8.0)),
        restart_all=rng.random() < 0.5,
        cut_mean_s=rng.choice((1.0, 2.0)),
        partial_cuts=rng.random() < 0.5,
        max_cut_s=rng.choice((1.5, 4.0)),
        membership_changes=rng.choice((1, 2, 3)),
        retain_entries=rng.choice((16, 64)),
    )


def _plan(rng: random.Random, append_all: bool) -> Plan:

    def rate() -> float:
        return rng.choice(RATES)

    nodes = rng.choice((2, 3, 3))
    return Plan(
        groups=rng.choice((2, 3)),
        nodes=nodes,
        append_lost=rate(),
        append_unknown=rate(),
        replication_lag_s=rng.choice((0.0, 0.02, 0.3)),
        delivery=DeliveryFaults(
            lost=rate(),
            unknown=rate(),
            duplicate=rate(),
            ghost=rng.choice((0.0, 0.05, 0.3)),
            max_delay_s=rng.choice((0.001, 0.01, 0.2)),
            concurrent=rng.random() < 0.5 and append_all,
        ),
        link_lost=rate(),
        link_latency_s=rng.choice((0.005, 0.05, 0.3)),
        attempt_crash=rate(),
        suspend=rng.choice((0.0, 0.5, 1.0)),
        patience_s=rng.choice((0.0, 0.5)),
        crash_mean_s=rng.choice((0.0, 2.0, 6.0)),
        node_crash_mean_s=rng.choice((0.0, 0.0, 3.0, 8.0)),
        max_node_downtime_s=rng.choice((1.0, 8.0)),
        restart_all=rng.random() < 0.2,
        cut_mean_s=rng.choice((0.0, 0.0, 2.0, 6.0)),
        partial_cuts=nodes == 3 and rng.random() < 0.5,
        max_cut_s=rng.choice((0.5, 2.0, 5.0)),
        membership_changes=rng.choice((0, 0, 1, 2)),
        leader_change_mean_s=rng.choice((0.0, 1.5, 5.0)),
        max_downtime_s=rng.choice((0.5, 3.0)),
        operations=rng.randint(20, 60),
        trim_every=rng.choice((16, 64, 4096)),
        retain_entries=rng.choice((50_000, 64, 16)),
        retention_ms=rng.choice((1_500, 5_000, 86_400_000)),
    )


class Injector:
    def __init__(self, cluster: Cluster, plan: Plan, rng: random.Random) -> None:
        self._cluster = cluster
        self._plan = plan
        self._rng = rng
        self._tasks = cluster.setup.tasks
        self._changes: list[asyncio.Task[None]] = []
        self._calm = asyncio.Event()

    def storm(self) -> None:
        """Turn the probabilistic faults on."""
        p = self._plan
        for log in self._cluster.logs:
            log.faults = AppendFaults(
                lost=p.append_lost, unknown=p.append_unknown, max_lag_s=p.replication_lag_s
            )
        self._cluster.setup.network.faults = p.delivery
        env = self._cluster.setup.env
        env.links.lost = p.link_lost
        env.links.max_latency_s = p.link_latency_s
        env.behaviour.crash = p.attempt_crash
        env.behaviour.suspend = p.suspend
        env.behaviour.max_patience_s = p.patience_s

    async def calm(self) -> None:
        """Every fault off, the network whole, membership changes finished, every member up."""
        self._calm.set()
        for log in self._cluster.logs:
            log.faults = AppendFaults()
        self._cluster.setup.network.faults = DeliveryFaults()
        env = self._cluster.setup.env
        env.links.lost = 0.0
        env.behaviour.crash = 0.0
        self._cluster.nodes.heal_all()
        self._event("calm: every fault off, the network healed")
        self._start_all()
        await asyncio.gather(*self._changes)
        self._start_all()

    def _start_all(self) -> None:
        for member in self._cluster.members():
            if not member.up and self._cluster.belongs(member):
                member.start()

    async def run(self, until_s: float) -> None:
        """Inject faults until virtual time `until_s`."""
        p = self._plan
        loop = asyncio.get_running_loop()
        if p.restart_all:
            at = self._rng.uniform(2.0, until_s - 2.0)
            self._tasks.create_task(self._restart_all(at), name="restart-all")
        for _ in range(p.membership_changes):
            at = self._rng.uniform(1.0, until_s - 4.0)
            self._changes.append(self._tasks.create_task(self._change(at), name="membership"))
        faults = [
            (p.crash_mean_s, self._crash),
            (p.node_crash_mean_s, self._crash_node),
            (p.cut_mean_s, self._cut),
            (p.leader_change_mean_s, self._move_leader),
        ]
        rates = [(1 / mean, fault) for mean, fault in faults if mean]
        total = sum(r for r, _ in rates)
        if total == 0:
            return
        while True:
            await asyncio.sleep(self._rng.expovariate(total))
            if loop.time() >= until_s:
                return
            roll = self._rng.random() * total
            for r, fault in rates:
                if roll < r:
                    await fault()
                    break
                roll -= r

    async def _crash(self) -> None:
        cluster = self._cluster
        up = [m for m in cluster.members() if m.up]
        if not up:
            return
        victim = self._rng.choice(up)
        victims = [victim]
        if self._rng.random() < 0.2:  # the whole group at once
            victims = [m for m in cluster.groups[victim.group] if m.up]
        for member in victims:
            await member.crash()
            downtime = self._rng.uniform(0.1, self._plan.max_downtime_s)
            self._tasks.create_task(self._restart(member, downtime), name="restart")

    async def _restart(self, member: Member, after_s: float) -> None:
        await asyncio.sleep(after_s)
        if not member.up and self._cluster.belongs(member):
            member.start()

    async def _crash_node(self) -> None:
        node = self._rng.randrange(self._cluster.nodes.count)
        await self._cluster.crash_node(node)
        downtime = self._rng.uniform(0.1, self._plan.max_node_downtime_s)
        self._tasks.create_task(self._start_node(node, downtime), name="start-node")

    async def _start_node(self, node: int, after_s: float) -> None:
        await asyncio.sleep(after_s)
        self._cluster.start_node(node)

    async def _restart_all(self, at_s: float) -> None:
        await asyncio.sleep(at_s - asyncio.get_running_loop().time())
        if self._calm.is_set():
            return
        self._event("restart every node at once")
        nodes = range(self._cluster.nodes.count)
        for node in nodes:
            await self._cluster.crash_node(node)
        await asyncio.sleep(self._rng.uniform(0.05, 1.0))
        for node in nodes:
            self._cluster.start_node(node)

    async def _cut(self) -> None:
        cluster = self._cluster
        count = cluster.nodes.count
        if self._plan.partial_cuts and self._rng.random() < 0.5:
            a, b = self._rng.sample(range(count), 2)
            cluster.nodes.cut(a, b)
            links = [(a, b)]
        else:
            links = cluster.nodes.isolate(self._rng.randrange(count))
        what = ", ".join(f"{node_name(a)}-{node_name(b)}" for a, b in links)
        duration = self._rng.uniform(0.2, self._plan.max_cut_s)
        self._event(f"cut {what or 'nothing new'} for {duration:.3f} s")
        self._tasks.create_task(self._heal(links, duration), name="heal")

    async def _heal(self, links: list[tuple[int, int]], after_s: float) -> None:
        await asyncio.sleep(after_s)
        for a, b in links:
            self._cluster.nodes.heal(a, b)
        if links:
            what = ", ".join(f"{node_name(a)}-{node_name(b)}" for a, b in links)
            self._event(f"heal {what}")

    async def _change(self, at_s: float) -> None:
        """Remove a node's members from every group, one group at a time; add them back
        (empty: from snapshots) after a while, again one at a time."""
        await asyncio.sleep(at_s - asyncio.get_running_loop().time())
        cluster = self._cluster
        node = self._rng.randrange(cluster.nodes.count)
        removed = []
        for group in cluster.groups:
            member = group[node]
            if len(cluster.logs[member.group].raft.voters) < 2:
                continue  # (another change left this group with one voter)
            self._event(f"remove {member.name}")
            if await cluster.remove(member, self._calm):
                removed.append(member)
        downtime = self._rng.uniform(*CHANGE_DOWNTIME_S)
        try:
            await asyncio.wait_for(self._calm.wait(), downtime)
        except TimeoutError:
            pass
        for member in removed:
            self._event(f"add {member.name} back")
            await cluster.add(member)

    async def _move_leader(self) -> None:
        cluster = self._cluster
        g = self._rng.randrange(len(cluster.groups))
        raft = cluster.logs[g].raft
        leader = raft.current_leader()
        others = sorted(raft.voters - {leader}) if leader is not None else []
        if leader is not None and others:
            raft.transfer(leader, self._rng.choice(others))

    def _event(self, what: str) -> None:
        self._cluster.setup.trace.event(asyncio.get_running_loop().time(), what)
