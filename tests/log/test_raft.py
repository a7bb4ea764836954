"""RaftLog beyond the shared contract: restarts, fsync, ports and files, three members."""

from __future__ import annotations

import asyncio
import os
import socket
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import pytest
from pysyncobj.config import FAIL_REASON

from log.api import Entry, Error, NotLeader
from log.raft import RaftLog, RaftOptions
from log.replica import submit_failure
from tests.log.support import free_port, raft_options, take_until


async def started(options: RaftOptions, sync_file: Callable[[int], None] = os.fdatasync) -> RaftLog:
    log = RaftLog(options, sync_file=sync_file)
    await log.start()
    return log


def open_fds() -> int:
    return len(os.listdir("/proc/self/fd"))


async def test_restart_reads_every_acknowledged_record_at_the_same_position(
    tmp_path: Path,
) -> None:
    options = raft_options(tmp_path)
    log = await started(options)
    sequential = [(await log.append(b"s%d" % i), b"s%d" % i) for i in range(20)]
    concurrent_records = [b"c%d" % i for i in range(500)]
    concurrent = list(
        zip(
            await asyncio.gather(*(log.append(r) for r in concurrent_records)),
            concurrent_records,
            strict=True,
        )
    )
    await log.close()

    again = await started(options)  # same directory, same port: close released it
    try:
        marker = await again.append(b"marker")
        entries = await take_until(again.read(0), marker)
        assert entries[:-1] == [Entry(lsn, record) for lsn, record in sequential + concurrent]
        assert marker > concurrent[-1][0]
    finally:
        await again.close()


async def test_each_batch_is_synced_once_before_it_is_acknowledged(tmp_path: Path) -> None:
    synced_at: list[int] = []

    def sync(fd: int) -> None:
        os.fdatasync(fd)
        synced_at.append(time.monotonic_ns())

    log = await started(raft_options(tmp_path), sync_file=sync)
    try:
        syncs, batches = len(synced_at), log.stats.batches_committed
        for i in range(10):
            await log.append(b"%d" % i)
            acked_at = time.monotonic_ns()
            assert len(synced_at) == syncs + i + 1
            assert synced_at[-1] <= acked_at
        await asyncio.gather(*(log.append(b"together") for _ in range(64)))
        assert len(synced_at) == syncs + 11
        assert log.stats.batches_committed == batches + 11
        assert log.stats.journal_syncs == len(synced_at)
    finally:
        await log.close()


async def test_without_fsync_the_journal_is_never_synced(tmp_path: Path) -> None:
    calls: list[int] = []
    log = await started(raft_options(tmp_path, fsync=False), sync_file=calls.append)
    try:
        await asyncio.gather(*(log.append(b"x") for _ in range(100)))
        await log.append(b"y")
        assert calls == []
        assert log.stats.journal_syncs == 0
    finally:
        await log.close()


async def test_a_second_log_on_the_same_directory_is_refused(tmp_path: Path) -> None:
    log = await started(raft_options(tmp_path))
    try:
        with pytest.raises(Error, match="in use"):
            await RaftLog(raft_options(tmp_path)).start()
    finally:
        await log.close()


async def test_a_port_in_use_is_reported_and_releases_the_directory(tmp_path: Path) -> None:
    options = raft_options(tmp_path)
    host, port = options.self_address.rsplit(":", 1)
    with socket.socket() as squatter:
        squatter.bind((host, int(port)))
        squatter.listen()
        with pytest.raises(Error, match="could not listen"):
            await RaftLog(options).start()
    log = await started(options)
    await log.close()


async def test_close_releases_port_files_and_descriptors(tmp_path: Path) -> None:
    options = raft_options(tmp_path)
    await (await started(options)).close()  # warm-up: process-wide fds opened on first use
    before = open_fds()
    for _ in range(3):
        log = await started(options)
        await log.append(b"x")
        await log.close()
    assert open_fds() == before


async def test_append_before_start_is_refused(tmp_path: Path) -> None:
    log = RaftLog(raft_options(tmp_path))
    with pytest.raises(Error, match="not started"):
        await log.append(b"x")
    assert not log.is_leader()


async def test_oversized_record_is_refused(tmp_path: Path) -> None:
    log = await started(raft_options(tmp_path, max_batch_bytes=1024, max_record_bytes=4096))
    try:
        with pytest.raises(Error, match="max_record_bytes"):
            await log.append(b"x" * 4097)
        assert await log.append(b"x" * 4096) > 0
    finally:
        await log.close()


def _three_members(tmp_path: Path) -> list[RaftOptions]:
    addresses = [f"127.0.0.1:{free_port()}" for _ in range(3)]
    return [
        RaftOptions(
            self_address=address,
            partners=tuple(a for a in addresses if a != address),
            data_dir=tmp_path / f"member{i}",
        )
        for i, address in enumerate(addresses)
    ]


async def find_leader(logs: list[RaftLog], timeout: float = 5.0) -> RaftLog:
    async with asyncio.timeout(timeout):
        while True:
            for log in logs:
                if log.is_leader():
                    return log
            waits = [asyncio.ensure_future(log.wait_leader(timeout)) for log in logs]
            try:
                await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
            finally:
                for wait in waits:
                    wait.cancel()
                await asyncio.gather(*waits, return_exceptions=True)


async def test_three_members_replicate_and_survive_losing_the_leader(tmp_path: Path) -> None:
    options = _three_members(tmp_path)
    logs = [RaftLog(o) for o in options]
    try:
        await asyncio.gather(*(log.start() for log in logs))
        leader = await find_leader(logs)
        records = [b"r%d" % i for i in range(200)]
        lsns = list(await asyncio.gather(*(leader.append(r) for r in records)))
        expected = [Entry(lsn, r) for lsn, r in zip(lsns, records, strict=True)]
        for log in logs:
            assert (await take_until(log.read(0), lsns[-1]))[-200:] == expected
        follower = next(log for log in logs if log is not leader)
        with pytest.raises(NotLeader):
            await follower.append(b"refused")

        syncs_before = [log.stats.journal_syncs for log in logs]
        for i in range(10):  # ten batches: every member syncs each before acknowledging it
            lsns.append(await leader.append(b"s%d" % i))
            expected.append(Entry(lsns[-1], b"s%d" % i))
        for log, before in zip(logs, syncs_before, strict=True):
            await take_until(log.read(lsns[-1]), lsns[-1])
            assert log.stats.journal_syncs >= before + 10

        index = logs.index(leader)
        await leader.close()
        survivors = [log for log in logs if log is not leader]
        new_leader = await find_leader(survivors)
        later = await new_leader.append(b"after failover")
        assert later > lsns[-1]

        logs[index] = RaftLog(options[index])  # the old leader comes back on its directory
        await logs[index].start()
        back = await take_until(logs[index].read(0), later)
        assert back[-1] == Entry(later, b"after failover")
        assert back[-211:-1] == expected
    finally:
        for log in logs:
            await log.close()


def test_options_are_checked() -> None:
    with pytest.raises(ValueError, match="host:port"):
        RaftOptions(self_address="localhost", data_dir=Path("x"))
    with pytest.raises(ValueError, match="partners"):
        RaftOptions(self_address="127.0.0.1:1", partners=("127.0.0.1:1",), data_dir=Path("x"))
    with pytest.raises(ValueError, match="raft_max_timeout"):
        RaftOptions(
            self_address="127.0.0.1:1",
            data_dir=Path("x"),
            raft_min_timeout=0.3,
            raft_max_timeout=0.2,
        )
    replace(RaftOptions(self_address="127.0.0.1:1", data_dir=Path("x")), fsync=False)


async def test_appends_in_flight_fail_with_not_leader_when_the_leader_loses_its_majority(
    tmp_path: Path,
) -> None:
    logs = [RaftLog(o) for o in _three_members(tmp_path)]
    try:
        await asyncio.gather(*(log.start() for log in logs))
        leader = await find_leader(logs)
        for log in logs:
            if log is not leader:
                await log.close()
        results = await asyncio.wait_for(
            asyncio.gather(*(leader.append(b"%d" % i) for i in range(5)), return_exceptions=True),
            timeout=5.0,  # leader_fallback_timeout is 1 s
        )
        assert all(isinstance(r, NotLeader) for r in results), results
        assert all("lost leadership while this append was in flight" in str(r) for r in results)
        assert not leader.is_leader()
    finally:
        for log in logs:
            await log.close()


def test_failed_submits_say_why_and_whether_to_go_to_the_leader() -> None:
    full = submit_failure(FAIL_REASON.QUEUE_FULL)
    assert not isinstance(full, NotLeader)
    assert "QUEUE_FULL" in str(full)
    assert "may or may not be committed" in str(full)
    moved = submit_failure(FAIL_REASON.LEADER_CHANGED)
    assert isinstance(moved, NotLeader)
    assert "LEADER_CHANGED" in str(moved)


async def test_a_failed_journal_sync_fails_the_append_and_stops_the_member(tmp_path: Path) -> None:
    disk = {"broken": False}

    def sync(fd: int) -> None:
        if disk["broken"]:
            raise OSError(5, "Input/output error")
        os.fdatasync(fd)

    log = await started(raft_options(tmp_path), sync_file=sync)
    try:
        reader = log.read(0)
        await log.append(b"durable")
        assert (await anext(reader)).record == b"durable"
        disk["broken"] = True
        with pytest.raises(Error, match="Input/output error"):
            await asyncio.wait_for(log.append(b"not durable"), 5.0)
        with pytest.raises(Error, match="Input/output error"):
            await log.append(b"refused")
        assert not log.is_leader()
        with pytest.raises(Error, match="Input/output error"):
            await anext(reader)  # readers stop too: the unsynced record is never served
    finally:
        await log.close()


async def test_a_slow_tick_delays_nothing_a_member_is_asked(tmp_path: Path) -> None:
    """The tick period is only the resolution of Raft's timers: an append, and work handed to
    the tick thread (`call_on_tick`, here through `snapshot_point`), wake it at once. A
    single-member group relies on it (log/raft_options.py ALONE_TICK_PERIOD)."""
    tick = 1.0
    log = await started(raft_options(tmp_path, tick_period=tick))
    try:
        for i in range(3):
            began = time.monotonic()
            lsn = await log.append(b"r%d" % i)
            assert time.monotonic() - began < tick / 2, "an append waited for a tick"
        began = time.monotonic()
        point = await log.snapshot_point(lsn)
        assert point.lsn == lsn
        assert time.monotonic() - began < tick / 2, "work for the tick thread waited for a tick"
    finally:
        await log.close()
