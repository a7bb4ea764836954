"""The shuffle: a partition leader's courier for its outbox (partition.messages).

Theory of operation
-------------------
Messages for other groups are rows of the outbox, numbered by the producer. While this
member leads, the shuffle reads the outbox from its start, puts a round's rows for each target
group (in order) into one `Deliver` record, and hands it to the `Deliverer`, which appends it to
the target group's log and returns once it is durable there (one record: a round is applied whole
or not at all, never with a gap). When every group
of a round is delivered, the shuffle proposes `TruncateOutbox` up to the round's last sequence
number, and the rows go away in that record's apply. A failed delivery is retried (after a short
pause) from the round's first row: the receiver applies each (producer, sequence number) once,
so a message delivered twice, by a retry or by the next leader re-reading rows that were not yet
truncated, is applied once. Nothing is lost: a row leaves the outbox only after its target has it.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Protocol

from node.clock import SYSTEM, Clock
from node.proposer import Proposer
from partition import tables
from perdure_proto import records_pb2 as rec

log = logging.getLogger(__name__)

ROUND = 512  # outbox rows per round
RETRY_S = 0.2


class Deliverer(Protocol):
    async def deliver(self, target: int, records: list[rec.Envelope]) -> None:
        """Append `records` (`Deliver` envelopes, in order) to partition `target`'s log; return
        once they are durable there. Raises when they may not be (they are sent again)."""
        ...


class Shuffle:
    def __init__(
        self,
        group: int,
        store: tables.RangeReader,
        proposer: Proposer,
        deliverer: Deliverer,
        clock: Clock = SYSTEM,
    ) -> None:
        self._group = group
        self._store = store
        self._proposer = proposer
        self._deliverer = deliverer
        self._clock = clock
        self._wake = asyncio.Event()
        self._truncated = 0  # proposed truncations up to here; their apply may still be pending

    def notify(self, seq: int) -> None:
        """The outbox holds a message with sequence number `seq`."""
        if seq > self._truncated:
            self._wake.set()

    async def run(self) -> None:
        """Deliver the outbox until cancelled."""
        while True:
            self._wake.clear()
            try:
                delivered = await self.deliver_once()
            except Exception as exc:  # any failure: the same rows go again
                log.warning("group %d: delivering its outbox failed (%s)", self._group, exc)
                await self._clock.sleep(RETRY_S)
                continue
            if delivered == 0:
                await self._wake.wait()

    async def deliver_once(self) -> int:
        """Deliver one round of outbox rows; return how many there were."""
        rows = tables.outbox_after(self._store, self._truncated, ROUND)
        if not rows:
            return 0
        by_target: dict[int, rec.Envelope] = {}
        for seq, row in rows:
            envelope = by_target.get(row.target)
            if envelope is None:
                envelope = by_target[row.target] = rec.Envelope()
                envelope.deliver.producer = self._group
            m = envelope.deliver.messages.add()
            m.seq = seq
            m.message.CopyFrom(row.message)
        # gather, not a TaskGroup: on Python 3.11 a TaskGroup whose child fails while the
        # shuffle is being cancelled raises that failure (an ExceptionGroup) instead of the
        # CancelledError, and `run` would take it for a failed round and go on forever (found by
        # the simulation). gather cancels the other deliveries and lets cancellation through.
        results = await asyncio.gather(
            *(self._deliverer.deliver(t, [e]) for t, e in by_target.items()),
            return_exceptions=True,
        )
        for result in results:
            if isinstance(result, BaseException):
                raise result
        up_to = rows[-1][0]
        await self._proposer.propose(rec.Envelope(truncate_outbox=rec.TruncateOutbox(up_to=up_to)))
        self._truncated = up_to
        return len(rows)
