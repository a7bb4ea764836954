"""Append throughput and latency of a single-member RaftLog (a benchmark, not a test).

    .venv/bin/python -m log.bench [--seconds 3] [--record-bytes 200] [--no-fsync] [--uvloop]
                                  [--appenders 1,64]

For 1 and 64 concurrent appenders (by default; each awaits its append, then appends again), prints
appends/s, p50 and p99 latency, how many batches and journal syncs that took, and the process's
CPU use (all threads: event loop and pysyncobj's tick thread).
"""

from __future__ import annotations

import argparse
import asyncio
import socket
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from log.raft import RaftLog, RaftOptions


@dataclass(frozen=True, slots=True)
class Result:
    appenders: int
    appends: int
    seconds: float
    p50_ms: float
    p99_ms: float
    batches: int
    syncs: int
    cpu_seconds: float

    def line(self) -> str:
        rate = self.appends / self.seconds
        cpu_us = self.cpu_seconds / self.appends * 1e6
        return (
            f"{self.appenders:3d} appenders: {rate:9,.0f} appends/s  p50 {self.p50_ms:6.2f} ms  "
            f"p99 {self.p99_ms:6.2f} ms  {self.batches / self.seconds:6,.0f} batches/s  "
            f"{self.syncs / self.seconds:6,.0f} syncs/s  "
            f"CPU {self.cpu_seconds / self.seconds:4.0%} ({cpu_us:.0f} us/append)"
        )


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


async def measure(log: RaftLog, appenders: int, seconds: float, record: bytes) -> Result:
    latencies: list[float] = []
    deadline = time.perf_counter() + seconds

    async def appender() -> None:
        while (start := time.perf_counter()) < deadline:
            await log.append(record)
            latencies.append(time.perf_counter() - start)

    before = log.stats
    cpu_started = time.process_time()
    started = time.perf_counter()
    await asyncio.gather(*(appender() for _ in range(appenders)))
    elapsed = time.perf_counter() - started
    cpu_seconds = time.process_time() - cpu_started
    after = log.stats
    latencies.sort()
    return Result(
        appenders=appenders,
        appends=len(latencies),
        seconds=elapsed,
        p50_ms=latencies[len(latencies) // 2] * 1e3,
        p99_ms=latencies[int(len(latencies) * 0.99)] * 1e3,
        batches=after.batches_committed - before.batches_committed,
        syncs=after.journal_syncs - before.journal_syncs,
        cpu_seconds=cpu_seconds,
    )


async def main(args: argparse.Namespace) -> None:
    with tempfile.TemporaryDirectory(prefix="perdure-log-bench-", dir=args.dir) as data_dir:
        options = RaftOptions(
            self_address=f"127.0.0.1:{_free_port()}", data_dir=Path(data_dir), fsync=args.fsync
        )
        log = RaftLog(options)
        await log.start()
        try:
            record = b"r" * args.record_bytes
            print(
                f"RaftLog, 1 member, fsync={'on' if args.fsync else 'off'}, "
                f"{args.record_bytes} B records, window {options.group_commit_window * 1e3} ms, "
                f"data in {data_dir}"
            )
            for appenders in args.appenders:
                print((await measure(log, appenders, args.seconds, record)).line(), flush=True)
        finally:
            await log.close()


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=float, default=3.0)
    parser.add_argument("--record-bytes", type=int, default=200)
    parser.add_argument("--no-fsync", dest="fsync", action="store_false")
    parser.add_argument("--uvloop", action="store_true")
    parser.add_argument(
        "--appenders",
        type=lambda text: [int(n) for n in text.split(",")],
        default=[1, 64],
        help="comma-separated concurrency levels (default 1,64)",
    )
    parser.add_argument("--dir", default=None, help="parent of the temporary data directory")
    return parser.parse_args()


if __name__ == "__main__":
    arguments = parse_args()
    if arguments.uvloop:
        import uvloop

        uvloop.run(main(arguments))
    else:
        asyncio.run(main(arguments))
