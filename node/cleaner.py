"""The leader's cleaner: proposes `PurgeExpired` for completed invocations whose retention
(idempotency / workflow) ended, found through the store's expiry index, in bounded batches."""

from __future__ import annotations

import asyncio
import logging
import time

from log.api import Error as LogError
from node.proposer import Proposer
from partition import keys
from partition.store import Store
from perdure_proto import records_pb2 as rec

log = logging.getLogger(__name__)

BATCH = 1000


class Cleaner:
    def __init__(self, store: Store, proposer: Proposer, period_s: float = 60.0) -> None:
        self._store = store
        self._proposer = proposer
        self._period_s = period_s
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._run(), name="cleaner")

    def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self._period_s)
            try:
                await self.purge_once()
            except LogError as exc:
                log.warning("purging expired invocations failed: %s; will retry", exc)

    async def purge_once(self) -> int:
        now = int(time.time() * 1000)
        expired = [
            keys.parse_expiry(k)[1]
            for k, _ in self._store.scan_range(keys.EXPIRY, keys.EXPIRY + now.to_bytes(8, "big"))
        ]
        for i in range(0, len(expired), BATCH):
            chunk = expired[i : i + BATCH]
            await self._proposer.propose(
                rec.Envelope(purge_expired=rec.PurgeExpired(invocation_ids=chunk, now_ms=now))
            )
        return len(expired)
