"""A real process is killed with SIGKILL while appending; every acknowledged record survives."""

from __future__ import annotations

import asyncio
import signal
import sys
from collections import defaultdict
from pathlib import Path

from log.raft import RaftLog, RaftOptions
from tests.log.support import free_port, take_until

REPO = Path(__file__).resolve().parents[2]
WORKERS = 8


def parse_acks(output: bytes, acked: dict[int, bytes]) -> None:
    for line in output.split(b"\n"):
        parts = line.split()
        if len(parts) == 3 and parts[0] == b"ack":
            acked[int(parts[1])] = parts[2]


async def run_until_killed(data_dir: Path, address: str, acks_before_kill: int) -> dict[int, bytes]:
    """Start the appender, SIGKILL it after `acks_before_kill` acks; return every ack it printed."""
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "tests.log.appender",
        str(data_dir),
        address,
        str(WORKERS),
        cwd=REPO,
        stdout=asyncio.subprocess.PIPE,
    )
    stdout = process.stdout
    if stdout is None:
        raise AssertionError("no stdout pipe")
    acked: dict[int, bytes] = {}
    try:
        async with asyncio.timeout(20):
            assert await stdout.readline() == b"ready\n"
            while len(acked) < acks_before_kill:
                parse_acks(await stdout.readline(), acked)
    finally:
        process.send_signal(signal.SIGKILL)
        parse_acks(await stdout.read(), acked)  # acks printed before it died, not yet read
        await process.wait()
    assert process.returncode == -signal.SIGKILL
    return acked


async def test_every_acknowledged_record_survives_kill_9_exactly_once_in_order(
    tmp_path: Path,
) -> None:
    address = f"127.0.0.1:{free_port()}"
    acked = await run_until_killed(tmp_path, address, acks_before_kill=500)

    log = RaftLog(RaftOptions(self_address=address, data_dir=tmp_path))
    await log.start()
    try:
        marker = await log.append(b"marker")
        entries = (await take_until(log.read(0), marker))[:-1]
    finally:
        await log.close()

    by_lsn = {e.lsn: e.record for e in entries}
    missing = {lsn: r for lsn, r in acked.items() if by_lsn.get(lsn) != r}
    assert not missing, f"acknowledged records lost or moved: {missing}"
    records = [e.record for e in entries]
    assert len(set(records)) == len(records), "a record was committed twice"
    sequences: dict[bytes, list[int]] = defaultdict(list)
    for record in records:
        worker, seq = record.split(b"-")
        sequences[worker].append(int(seq))
    for worker, seqs in sequences.items():
        assert seqs == list(range(len(seqs))), f"{worker!r} records out of order or with gaps"
