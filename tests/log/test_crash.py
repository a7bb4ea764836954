"""A real process is killed with SIGKILL while appending; every acknowledged record survives."""

from __future__ import annotations

import asyncio
import signal
import sys
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from log.api import Entry, Trimmed
from log.raft import RaftLog, RaftOptions
from tests.log.support import free_port, take_until

REPO = Path(__file__).resolve().parents[2]
WORKERS = 8


@dataclass
class Output:
    acked: dict[int, bytes] = field(default_factory=dict)
    trimming: list[int] = field(default_factory=list)
    trimmed: list[int] = field(default_factory=list)

    def acked_above(self, lsn: int) -> int:
        return sum(1 for acked in self.acked if acked > lsn)

    def parse(self, output: bytes) -> None:
        for line in output.split(b"\n"):
            parts = line.split()
            if len(parts) == 3 and parts[0] == b"ack":
                self.acked[int(parts[1])] = parts[2]
            elif len(parts) == 2 and parts[0] == b"trimming":
                self.trimming.append(int(parts[1]))
            elif len(parts) == 2 and parts[0] == b"trimmed":
                self.trimmed.append(int(parts[1]))


async def run_until_killed(
    data_dir: Path, address: str, kill_when: Callable[[Output], bool], trim_every: int = 0
) -> Output:
    """Start the appender; SIGKILL it once `kill_when(what it printed)`; return what it printed."""
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "tests.log.appender",
        str(data_dir),
        address,
        str(WORKERS),
        str(trim_every),
        cwd=REPO,
        stdout=asyncio.subprocess.PIPE,
    )
    stdout = process.stdout
    if stdout is None:
        raise AssertionError("no stdout pipe")
    out = Output()
    try:
        async with asyncio.timeout(20):
            assert await stdout.readline() == b"ready\n"
            while not kill_when(out):
                out.parse(await stdout.readline())
    finally:
        process.send_signal(signal.SIGKILL)
        out.parse(await stdout.read())  # printed before it died, not yet read
        await process.wait()
    assert process.returncode == -signal.SIGKILL
    return out


async def read_back(data_dir: Path, address: str, floor: int) -> list[Entry]:
    """Restart the log on `data_dir` and read everything above `floor`; raises `Trimmed` if the
    log forgot records above it, and checks that it forgot those up to it."""
    from_lsn = floor + 1
    log = RaftLog(RaftOptions(self_address=address, data_dir=data_dir))
    await log.start()
    try:
        reader = log.read(from_lsn)
        first = asyncio.ensure_future(anext(reader))
        await asyncio.sleep(0)  # a Trimmed reader fails at once
        marker = await log.append(b"marker")
        entries = [await first]
        if entries[0].lsn < marker:
            entries += await take_until(reader, marker)
        if floor >= 0:
            with pytest.raises(Trimmed):
                await anext(log.read(floor))
        return entries[:-1]
    finally:
        await log.close()


def check_survivors(acked: dict[int, bytes], entries: list[Entry], above: int) -> None:
    by_lsn = {e.lsn: e.record for e in entries}
    missing = {lsn: r for lsn, r in acked.items() if lsn > above and by_lsn.get(lsn) != r}
    assert not missing, f"acknowledged records lost or moved: {missing}"
    assert all(e.lsn > above for e in entries)
    records = [e.record for e in entries]
    assert len(set(records)) == len(records), "a record was committed twice"
    sequences: dict[bytes, list[int]] = defaultdict(list)
    for record in records:
        worker, seq = record.split(b"-")
        sequences[worker].append(int(seq))
    for worker, seqs in sequences.items():
        first = seqs[0] if above >= 0 else 0
        assert seqs == list(range(first, first + len(seqs))), f"{worker!r} out of order or gaps"


async def test_every_acknowledged_record_survives_kill_9_exactly_once_in_order(
    tmp_path: Path,
) -> None:
    address = f"127.0.0.1:{free_port()}"
    out = await run_until_killed(tmp_path, address, lambda out: len(out.acked) >= 500)
    check_survivors(out.acked, await read_back(tmp_path, address, -1), above=-1)


async def test_after_trims_every_acknowledged_record_above_the_trim_survives_kill_9(
    tmp_path: Path,
) -> None:
    address = f"127.0.0.1:{free_port()}"
    out = await run_until_killed(
        tmp_path,
        address,
        lambda out: len(out.trimmed) >= 3 and out.acked_above(out.trimmed[-1]) >= 300,
        trim_every=400,
    )
    # The trim in flight at the kill may or may not have become durable; nothing else may.
    done = out.trimmed[-1]
    pending = [t for t in out.trimming if t > done]
    try:
        floor, entries = done, await read_back(tmp_path, address, done)
    except Trimmed:
        assert pending, "the log forgot records above the last finished trim"
        floor, entries = pending[0], await read_back(tmp_path, address, pending[0])
    assert out.acked_above(floor) > 0  # killed mid-stream
    check_survivors(out.acked, entries, above=floor)
