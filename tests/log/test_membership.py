"""Raft configuration changes through the log (`RaftLog.change_membership`): a joining member
stays out of elections until a leader added it, a removed member stops counting, and the
configuration survives compaction and restarts (the manifest stores it)."""

from __future__ import annotations

import asyncio
import dataclasses
from pathlib import Path

import pytest

from log.api import Error, NotLeader
from log.raft import RaftLog, RaftOptions
from tests.log.support import free_port, take_until
from tests.log.test_compaction import _three_members, append_on_leader
from tests.log.test_raft import find_leader


async def test_a_member_joins_and_another_leaves_and_the_configuration_survives_restarts(
    tmp_path: Path,
) -> None:
    options = _three_members(tmp_path)
    logs = [RaftLog(o) for o in options]
    joiner: RaftLog | None = None
    try:
        await asyncio.gather(*(log.start() for log in logs))
        leader = await find_leader(logs)
        before = [await leader.append(b"before %d" % i) for i in range(5)]
        term = leader.term()

        address = f"127.0.0.1:{free_port()}"
        joining = RaftOptions(
            self_address=address,
            partners=tuple(o.self_address for o in options),
            data_dir=tmp_path / "joiner",
            joining=True,
            start_timeout=30.0,
        )
        joiner = RaftLog(joining)
        started = asyncio.create_task(joiner.start())
        await asyncio.sleep(1.0)  # many election timeouts: it never stood, the others refused it
        assert not started.done() and leader.is_leader() and leader.term() == term
        follower = next(log for log in logs if log is not leader)
        with pytest.raises(NotLeader):
            await follower.change_membership(True, address)

        await leader.change_membership(True, address)
        await asyncio.wait_for(started, 10)
        assert address in leader.members() and len(leader.members()) == 4
        got = await take_until(joiner.read(0), before[-1])
        assert [e.record for e in got] == [b"before %d" % i for i in range(5)]
        with pytest.raises(Error, match="own membership"):
            await leader.change_membership(False, leader.status().self_address)

        # One member leaves: three remain, and two of them are a majority.
        leaving = follower.status().self_address
        await leader.change_membership(False, leaving)
        await follower.close()
        members = [log for log in logs if log is not follower] + [joiner]
        assert leaving not in leader.members() and len(leader.members()) == 3
        other = next(log for log in members if log not in (leader, joiner))
        await other.close()  # leader + joiner: 2 of 3
        later = await leader.append(b"two of three")
        assert (await take_until(joiner.read(0), later))[-1].record == b"two of three"
        await leader.trim(later)  # the configuration changes are compacted away

        # Restart the two: the manifest brings back the configuration the log no longer holds.
        expected = leader.members()
        index = logs.index(leader)
        await leader.close()
        await joiner.close()
        logs[index] = RaftLog(options[index])
        joiner = RaftLog(dataclasses.replace(joining, joining=False))
        await asyncio.gather(logs[index].start(), joiner.start())
        assert logs[index].members() == expected
        last = await append_on_leader([logs[index], joiner], b"after restart")
        assert last > later
    finally:
        for log in logs:
            await log.close()
        if joiner is not None:
            await joiner.close()
