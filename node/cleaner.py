"""The leader's cleaner: proposes `PurgeExpired` for completed invocations whose retention
(idempotency / workflow) ended, found through the store's expiry index, in bounded batches."""

from __future__ import annotations

import logging

from log.api import Error as LogError
from node.clock import SYSTEM, Clock
from node.proposer import Proposer
from partition import tables
from perdure_proto import records_pb2 as rec

log = logging.getLogger(__name__)

BATCH = 1000


class Cleaner:
    def __init__(
        self,
        store: tables.RangeReader,
        proposer: Proposer,
        period_s: float = 60.0,
        clock: Clock = SYSTEM,
    ) -> None:
        self._store = store
        self._proposer = proposer
        self._period_s = period_s
        self._clock = clock

    async def run(self) -> None:
        """Purge every `period_s` until cancelled."""
        while True:
            await self._clock.sleep(self._period_s)
            try:
                await self.purge_once()
            except LogError as exc:
                log.warning("purging expired invocations failed: %s; will retry", exc)

    async def purge_once(self) -> int:
        now = self._clock.now_ms()
        expired = tables.expired_invocations(self._store, now)
        for i in range(0, len(expired), BATCH):
            chunk = expired[i : i + BATCH]
            await self._proposer.propose(
                rec.Envelope(purge_expired=rec.PurgeExpired(invocation_ids=chunk, now_ms=now))
            )
        return len(expired)
