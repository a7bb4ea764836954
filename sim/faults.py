"""Which faults a seed injects, and the loop that injects them.

A seed picks a `Plan`: the shape of the cluster (2 or 3 groups of 2 or 3 members) and how hostile
its run is (some seeds are calm, some lose one append in ten). During the fault phase, members
crash (one, or a whole group at once) and come back after a while, and leadership moves to
another member; the probabilistic faults (lost and unknown appends, lost, duplicated, delayed
and stale deliveries, broken invoker links, crashing attempts) act wherever they apply. Then
`calm` turns every fault off and brings every member back, so the system can settle.
"""

from __future__ import annotations

import asyncio
import random
from dataclasses import dataclass

from sim.cluster import Cluster, Member
from sim.log import AppendFaults
from sim.network import DeliveryFaults

RATES = (0.0, 0.005, 0.02, 0.08)


@dataclass(frozen=True, slots=True)
class Plan:
    groups: int
    members: int
    append_lost: float
    append_unknown: float
    replication_lag_s: float
    delivery: DeliveryFaults
    link_lost: float
    link_latency_s: float
    attempt_crash: float
    suspend: float
    patience_s: float
    crash_mean_s: float  # mean time between crashes (0: none)
    leader_change_mean_s: float  # mean time between leader changes (0: none)
    max_downtime_s: float
    operations: int
    trim_every: int
    retention_ms: int

    def describe(self) -> str:
        d = self.delivery
        return "; ".join(
            (
                f"{self.groups} groups x {self.members} members, {self.operations} requests",
                f"appends lost {self.append_lost} unknown {self.append_unknown}",
                f"replication lag {self.replication_lag_s} s",
                f"deliveries lost {d.lost} unknown {d.unknown} duplicated {d.duplicate} "
                f"stale {d.ghost}{', appended at once' if d.concurrent else ''}",
                f"links lost {self.link_lost}, latency {self.link_latency_s} s",
                f"attempts crash {self.attempt_crash}, suspend {self.suspend}",
                f"crashes every {self.crash_mean_s or '-'} s",
                f"leader changes every {self.leader_change_mean_s or '-'} s",
                f"results kept {self.retention_ms} ms",
            )
        )


def plan(rng: random.Random, append_all: bool = False) -> Plan:
    """`append_all`: some seeds deliver as node/backend.py `append_all` does (all of a call's
    records appended at once). Off by default while that leaves gaps (a known bug:
    tests/node/test_delivery_order.py); `python -m sim --append-all` shows it."""

    def rate() -> float:
        return rng.choice(RATES)

    return Plan(
        groups=rng.choice((2, 3)),
        members=rng.choice((2, 2, 3)),
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
        leader_change_mean_s=rng.choice((0.0, 1.5, 5.0)),
        max_downtime_s=rng.choice((0.5, 3.0)),
        operations=rng.randint(20, 60),
        trim_every=rng.choice((16, 64, 4096)),
        retention_ms=rng.choice((1_500, 5_000, 86_400_000)),
    )


class Injector:
    def __init__(self, cluster: Cluster, plan: Plan, rng: random.Random) -> None:
        self._cluster = cluster
        self._plan = plan
        self._rng = rng
        self._tasks = cluster.setup.tasks
        self.calm_now = False

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
        """Every fault off, every member up, a live leader for every group."""
        self.calm_now = True
        for log in self._cluster.logs:
            log.faults = AppendFaults()
        self._cluster.setup.network.faults = DeliveryFaults()
        env = self._cluster.setup.env
        env.links.lost = 0.0
        env.behaviour.crash = 0.0
        for member in self._cluster.members():
            if not member.up:
                member.start()
        for g in self._cluster.leaderless():
            await self._cluster.elect(g)

    async def run(self, until_s: float) -> None:
        """Crash members and move leaders until virtual time `until_s`."""
        p = self._plan
        rates = [1 / p.crash_mean_s if p.crash_mean_s else 0, 0.0]
        rates[1] = 1 / p.leader_change_mean_s if p.leader_change_mean_s else 0
        total = sum(rates)
        if total == 0:
            return
        loop = asyncio.get_running_loop()
        while True:
            await asyncio.sleep(self._rng.expovariate(total))
            if loop.time() >= until_s:
                return
            if self._rng.random() * total < rates[0]:
                await self._crash()
            else:
                await self._move_leader()

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
        if cluster.leader(victim.group) is None:
            delay = self._rng.uniform(0.1, 1.0)  # the election timeout
            self._tasks.create_task(self._elect(victim.group, delay), name="elect")

    async def _restart(self, member: Member, after_s: float) -> None:
        await asyncio.sleep(after_s)
        if member.up:
            return
        member.start()
        if member.group in self._cluster.leaderless():
            await self._cluster.announce(member)

    async def _elect(self, group: int, after_s: float) -> None:
        await asyncio.sleep(after_s)
        if group in self._cluster.leaderless():
            await self._cluster.elect(group)

    async def _move_leader(self) -> None:
        cluster = self._cluster
        g = self._rng.randrange(len(cluster.groups))
        others = [m for m in cluster.groups[g] if m.up and m is not cluster.leader(g)]
        if others:
            await cluster.announce(self._rng.choice(others))
