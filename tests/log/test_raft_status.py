"""RaftLog.status(): what a member reports of its group (term, leader, commit positions)."""

from __future__ import annotations

import asyncio
from pathlib import Path

from log.raft import RaftLog, RaftOptions
from tests.log.support import free_port, raft_options


async def test_a_single_member_reports_itself_as_leader_and_its_commit_positions(
    tmp_path: Path,
) -> None:
    options = raft_options(tmp_path)
    log = RaftLog(options)
    before = log.status()
    assert (before.role, before.leader_address, before.term, before.committed_lsn) == (
        "follower",
        None,
        0,
        None,
    )
    await log.start()
    try:
        first = await log.append(b"a")
        status = log.status()
        assert status.role == "leader"
        assert status.leader_address == status.self_address == options.self_address
        assert status.partners == ()
        assert status.term >= 1
        assert status.committed_lsn == first
        index = status.commit_index
        last = (await asyncio.gather(*(log.append(b"r%d" % i) for i in range(20))))[-1]
        after = log.status()
        assert after.committed_lsn == last > first
        assert after.commit_index > index
        assert after.term == status.term  # no election happened
    finally:
        await log.close()


async def test_followers_name_the_leader_and_share_its_term(tmp_path: Path) -> None:
    addresses = [f"127.0.0.1:{free_port()}" for _ in range(3)]
    logs = [
        RaftLog(
            RaftOptions(
                self_address=address,
                partners=tuple(a for a in addresses if a != address),
                data_dir=tmp_path / f"member{i}",
            )
        )
        for i, address in enumerate(addresses)
    ]
    try:
        await asyncio.gather(*(log.start() for log in logs))
        async with asyncio.timeout(10):
            while not any(log.is_leader() for log in logs):
                await asyncio.sleep(0.01)
        leader = next(log for log in logs if log.is_leader())
        lsn = await leader.append(b"x")
        leader_address = leader.status().self_address

        def agreed() -> bool:
            statuses = [log.status() for log in logs]
            return all(
                s.leader_address == leader_address
                and s.term == statuses[0].term
                and s.committed_lsn == lsn
                for s in statuses
            )

        async with asyncio.timeout(10):
            while not agreed():
                await asyncio.sleep(0.01)
        roles = sorted(log.status().role for log in logs)
        assert roles == ["follower", "follower", "leader"]
    finally:
        await asyncio.gather(*(log.close() for log in logs))
