"""The leader's timer service: turns due durable timers into `TimerFired` records.

Timers live in the store (ordered by wake-up time, `tables.timers_due_by`). Only those due within
`horizon` are held in memory (a heap); a periodic scan brings later ones in as they come
closer, so memory does not grow with the number of far-away timers. A timer fires from the
log, so a restart or a leader change loses none: the new leader loads them from the store.

`run()` is the service: it loads, fires and rescans until cancelled (the leader unit cancels it
when leadership ends); `register` adds a timer the partition just stored.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import heapq
import logging

from log.api import Error as LogError
from node import metrics
from node.clock import SYSTEM, Cancellable, Clock
from node.proposer import Proposer
from partition import tables
from partition.tables import TimerKey
from perdure_proto import records_pb2 as rec

log = logging.getLogger(__name__)

RETRY_S = 0.5  # after a failed append of TimerFired


class TimerService:
    def __init__(
        self,
        store: tables.RangeReader,
        proposer: Proposer,
        horizon_s: float = 60.0,
        clock: Clock = SYSTEM,
    ) -> None:
        self._store = store
        self._proposer = proposer
        self._horizon_ms = int(horizon_s * 1000)
        self._clock = clock
        self._heap: list[TimerKey] = []
        self._known: set[TimerKey] = set()
        self._loaded_until = 0
        self._handle: Cancellable | None = None
        self._running = False

    async def run(self) -> None:
        """Fire due timers until cancelled."""
        self._running = True
        try:
            while True:
                self._load()
                self._schedule()
                await self._clock.sleep(self._horizon_ms / 2000)
        finally:
            self._running = False
            if self._handle is not None:
                self._handle.cancel()
                self._handle = None
            self._heap.clear()
            self._known.clear()

    def register(self, wake_ms: int, invocation_id: str, index: int) -> None:
        if not self._running or wake_ms > self._loaded_until:
            return  # the periodic scan will bring it in
        self._push((wake_ms, invocation_id, index))
        self._schedule()

    def _push(self, key: TimerKey) -> None:
        if key not in self._known:
            self._known.add(key)
            heapq.heappush(self._heap, key)

    def _load(self) -> None:
        until = self._clock.now_ms() + self._horizon_ms
        for key in tables.timers_due_by(self._store, until):
            self._push(key)
        self._loaded_until = until

    def _schedule(self) -> None:
        metrics.TIMERS_PENDING.set(len(self._heap))
        if self._handle is not None:
            self._handle.cancel()
            self._handle = None
        if not self._heap or not self._running:
            return
        delay = max(0.0, (self._heap[0][0] - self._clock.now_ms()) / 1000)
        self._handle = self._clock.call_later(delay, self._fire_due)

    def _fire_due(self) -> None:
        self._handle = None
        now = self._clock.now_ms()
        while self._heap and self._heap[0][0] <= now:
            key = heapq.heappop(self._heap)
            wake_ms, invocation_id, index = key
            envelope = rec.Envelope(
                timer_fired=rec.TimerFired(
                    wake_up_time_ms=wake_ms, invocation_id=invocation_id, index=index
                )
            )
            # The log's append future (no Task): settled by the log, watched by `_fired`.
            fut = asyncio.ensure_future(self._proposer.propose(envelope))
            fut.add_done_callback(functools.partial(self._fired, key))
        self._schedule()

    def _fired(self, key: TimerKey, fut: asyncio.Future[int]) -> None:
        self._known.discard(key)
        if fut.cancelled():
            return
        exc = fut.exception()
        if exc is not None and self._running:
            log.warning("timer %s could not fire (%s); retrying", key, exc)
            if isinstance(exc, LogError):
                with contextlib.suppress(RuntimeError):
                    self._clock.call_later(RETRY_S, functools.partial(self._retry, key))

    def _retry(self, key: TimerKey) -> None:
        if self._running:
            self._push(key)
            self._schedule()
