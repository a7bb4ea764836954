"""A process that appends records until it is killed, printing each acknowledged one.

Used by test_crash.py: `python -m tests.log.appender DATA_DIR ADDRESS WORKERS [TRIM_EVERY]`. Prints
`ready`, then `ack <lsn> <record>` after each append returns. Each of WORKERS coroutines appends
`w<n>-<seq>` records one after another (seq 0, 1, 2, ...). With TRIM_EVERY, one more coroutine
trims the log at the highest acknowledged position each time TRIM_EVERY more records were
acknowledged, printing `trimming <lsn>` before and `trimmed <lsn>` after each trim.
"""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

from log.raft import RaftLog, RaftOptions


async def main(data_dir: str, address: str, workers: int, trim_every: int) -> None:
    log = RaftLog(RaftOptions(self_address=address, data_dir=Path(data_dir)))
    await log.start()
    print("ready", flush=True)
    acked = asyncio.Event()
    highest = -1
    count = 0

    async def worker(n: int) -> None:
        nonlocal highest, count
        seq = 0
        while True:
            record = b"w%d-%d" % (n, seq)
            lsn = await log.append(record)
            sys.stdout.write(f"ack {lsn} {record.decode()}\n")
            sys.stdout.flush()
            highest = max(highest, lsn)
            count += 1
            acked.set()
            seq += 1

    async def trimmer() -> None:
        trimmed_at = 0
        while True:
            await acked.wait()
            acked.clear()
            if count - trimmed_at < trim_every:
                continue
            trimmed_at, up_to = count, highest  # every position below an acked one is committed
            print(f"trimming {up_to}", flush=True)
            await log.trim(up_to)
            print(f"trimmed {up_to}", flush=True)

    tasks = [worker(n) for n in range(workers)]
    if trim_every > 0:
        tasks.append(trimmer())
    await asyncio.gather(*tasks)


if __name__ == "__main__":
    trim_every = int(sys.argv[4]) if len(sys.argv) > 4 else 0
    asyncio.run(main(sys.argv[1], sys.argv[2], int(sys.argv[3]), trim_every))
