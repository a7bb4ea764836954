"""The simulated Raft (sim/raft.py, sim/log.py) keeps Raft's rules: an append commits only
through the leader of the newest term while it reaches a majority of the current voters, who
then hold it; a leader cut off from that majority acknowledges nothing and steps down; the
majority elects a leader holding every committed entry; membership changes one member at a
time; a member behind the leader's compaction point is told it needs a snapshot."""

from __future__ import annotations

import asyncio
import random
from collections.abc import Awaitable, Callable

import pytest

from log.api import NotLeader
from log.lsn import make_lsn
from sim.log import GroupLog
from sim.loop import run
from sim.nodes import Nodes
from sim.raft import LEADER_FALLBACK_S, TICK_S
from sim.trace import Trace


def group(members: int = 3, seed: int = 1) -> tuple[GroupLog, Nodes]:
    nodes = Nodes(members)
    log = GroupLog(0, members, nodes, random.Random(seed), Trace())
    for m in range(members):
        log.raft.set_alive(m, True)
    return log, nodes


async def ticks(log: GroupLog, seconds: float) -> None:
    for _ in range(round(seconds / TICK_S)):
        await asyncio.sleep(TICK_S)
        log.tick()


async def leader_of(log: GroupLog) -> int:
    for _ in range(100):
        leader = log.raft.current_leader()
        if leader is not None:
            return leader
        await ticks(log, TICK_S)
    raise AssertionError("no leader elected")


def simulate(body: Callable[[], Awaitable[None]]) -> None:
    async def main() -> None:
        await body()

    run(main())


def test_the_preferred_member_is_elected_and_an_append_is_held_by_a_majority() -> None:
    async def body() -> None:
        log, _ = group()
        assert await leader_of(log) == 0  # group 0 prefers node 0
        lsn = await log.append(b"x", 0)
        assert lsn == make_lsn(1, 0)
        assert sum(held >= 1 for held in log.raft.held) >= 2
        assert log.raft.failures == []

    simulate(body)


def test_a_leader_cut_off_from_the_majority_acknowledges_nothing_and_steps_down() -> None:
    async def body() -> None:
        log, nodes = group()
        old = await leader_of(log)
        nodes.isolate(old)
        pending = log.append(b"lost", old)
        await ticks(log, LEADER_FALLBACK_S / 2)
        assert not pending.done()  # waits: no majority to commit it
        new = log.raft.current_leader()
        assert new is not None and new != old  # the majority elected another
        assert log.raft.term > log.raft.known[old]
        await log.append(b"kept", new)
        await ticks(log, LEADER_FALLBACK_S)
        with pytest.raises(NotLeader):
            pending.result()  # it stepped down on its own (leader fallback)
        assert not log.raft.leads(old)
        assert [e.record for e in log.entries] == [b"kept"]
        assert log.raft.failures == []

    simulate(body)


def test_an_isolated_leader_learns_of_the_new_term_when_the_cut_heals() -> None:
    async def body() -> None:
        log, nodes = group()
        old = await leader_of(log)
        nodes.isolate(old)
        await ticks(log, LEADER_FALLBACK_S / 2)
        assert log.raft.leads(old)  # it does not know yet
        nodes.heal_all()
        await ticks(log, TICK_S)
        assert not log.raft.leads(old)
        with pytest.raises(NotLeader):
            await log.append(b"late", old)

    simulate(body)


def test_a_cut_link_leaves_a_leader_with_a_majority_and_every_commit_held_by_one() -> None:
    async def body() -> None:
        log, nodes = group()
        leader = await leader_of(log)
        other = (leader + 1) % 3
        nodes.cut(leader, other)
        for i in range(20):
            via = await leader_of(log)
            try:
                await log.append(f"r{i}".encode(), via)
            except NotLeader:
                pass
            await ticks(log, 0.2)
        assert len(log.entries) >= 10
        assert log.raft.failures == []  # every commit was held by a majority

    simulate(body)


def test_an_acknowledgement_needs_a_majority_of_the_current_voters() -> None:
    async def body() -> None:
        log, nodes = group()
        leader = await leader_of(log)
        gone = (leader + 2) % 3
        assert log.raft.remove(gone)
        log.raft.set_alive(gone, False)
        assert log.raft.voters == {0, 1, 2} - {gone}
        nodes.cut(leader, (leader + 1) % 3)  # one of the two voters left: no majority of 2
        pending = log.append(b"x", leader)
        await ticks(log, TICK_S * 4)
        assert not pending.done()
        nodes.heal_all()
        await ticks(log, TICK_S)
        assert pending.result() == make_lsn(1, 0)

    simulate(body)


def test_membership_changes_one_member_at_a_time_and_a_learner_votes_once_caught_up() -> None:
    async def body() -> None:
        log, _ = group()
        leader = await leader_of(log)
        gone = (leader + 1) % 3
        assert log.raft.remove(gone)
        assert not log.raft.remove(gone)  # not a voter any more
        for i in range(3):
            await log.append(f"r{i}".encode(), leader)
        log.raft.add_learner(gone, 1)  # a snapshot through entry 1
        assert not log.raft.promote(gone)  # it lacks entries 2 and 3
        await ticks(log, TICK_S * 2)  # the leader sends them
        assert log.raft.held[gone] == 3
        assert log.raft.promote(gone)
        assert log.raft.voters == {0, 1, 2}

    simulate(body)


def test_a_member_behind_the_leaders_compaction_point_needs_a_snapshot() -> None:
    async def body() -> None:
        log, nodes = group()
        needed: list[int] = []
        log.on_snapshot_needed = needed.append
        leader = await leader_of(log)
        behind = (leader + 1) % 3
        nodes.isolate(behind)
        for i in range(5):
            await log.append(f"r{i}".encode(), leader)
        log.trimmed[leader] = make_lsn(4, 0)  # the leader compacted through entry 4
        nodes.heal_all()
        await ticks(log, TICK_S * 2)
        assert needed == [behind]
        assert log.raft.held[behind] == 0  # not sent what it cannot resume from
        log.installed(behind, make_lsn(5, 0))
        assert log.raft.held[behind] == 5

    simulate(body)
