"""A process that appends records until it is killed, printing each acknowledged one.

Used by test_crash.py: `python -m tests.log.appender DATA_DIR ADDRESS WORKERS`. Prints `ready`, then
`ack <lsn> <record>` after each append returns. Each of WORKERS coroutines appends `w<n>-<seq>`
records one after another (seq 0, 1, 2, ...).
"""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

from log.raft import RaftLog, RaftOptions


async def main(data_dir: str, address: str, workers: int) -> None:
    log = RaftLog(RaftOptions(self_address=address, data_dir=Path(data_dir)))
    await log.start()
    print("ready", flush=True)

    async def worker(n: int) -> None:
        seq = 0
        while True:
            record = b"w%d-%d" % (n, seq)
            lsn = await log.append(record)
            sys.stdout.write(f"ack {lsn} {record.decode()}\n")
            sys.stdout.flush()
            seq += 1

    await asyncio.gather(*(worker(n) for n in range(workers)))


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], sys.argv[2], int(sys.argv[3])))
