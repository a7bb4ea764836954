"""The leader's timer service: turns due durable timers into `TimerFired` records.

Timers live in the store (partition.keys TIMER, ordered by wake-up time). Only those due within
`horizon` are held in memory (a heap); a periodic scan brings later ones in as they come
closer, so memory does not grow with the number of far-away timers. A timer fires from the
log, so a restart or a leader change loses none: the new leader loads them from the store.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import heapq
import logging
import time
from collections.abc import Callable

from log.api import Error as LogError
from node import metrics
from node.proposer import Proposer
from partition import keys
from partition.store import Store
from perdure_proto import records_pb2 as rec

log = logging.getLogger(__name__)

TimerKey = tuple[int, str, int]  # (wake-up ms, invocation id, journal index)


def wall_ms() -> int:
    return int(time.time() * 1000)


class TimerService:
    def __init__(
        self,
        store: Store,
        proposer: Proposer,
        horizon_s: float = 60.0,
        clock: Callable[[], int] = wall_ms,
    ) -> None:
        self._store = store
        self._proposer = proposer
        self._horizon_ms = int(horizon_s * 1000)
        self._clock = clock
        self._heap: list[TimerKey] = []
        self._known: set[TimerKey] = set()
        self._loaded_until = 0
        self._handle: asyncio.TimerHandle | None = None
        self._task: asyncio.Task[None] | None = None
        self._running = False

    def start(self) -> None:
        self._running = True
        self._load()
        self._task = asyncio.get_running_loop().create_task(self._rescan(), name="timer-rescan")
        self._schedule()

    def stop(self) -> None:
        self._running = False
        if self._handle is not None:
            self._handle.cancel()
        if self._task is not None:
            self._task.cancel()
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
        until = self._clock() + self._horizon_ms
        for row_key, _ in self._store.scan_range(keys.TIMER, keys.timer_upto(until)):
            self._push(keys.parse_timer(row_key))
        self._loaded_until = until

    async def _rescan(self) -> None:
        while True:
            await asyncio.sleep(self._horizon_ms / 2000)
            self._load()
            self._schedule()

    def _schedule(self) -> None:
        metrics.TIMERS_PENDING.set(len(self._heap))
        if self._handle is not None:
            self._handle.cancel()
            self._handle = None
        if not self._heap or not self._running:
            return
        delay = max(0.0, (self._heap[0][0] - self._clock()) / 1000)
        self._handle = asyncio.get_running_loop().call_later(delay, self._fire_due)

    def _fire_due(self) -> None:
        self._handle = None
        now = self._clock()
        while self._heap and self._heap[0][0] <= now:
            key = heapq.heappop(self._heap)
            wake_ms, invocation_id, index = key
            envelope = rec.Envelope(
                timer_fired=rec.TimerFired(
                    wake_up_time_ms=wake_ms, invocation_id=invocation_id, index=index
                )
            )
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
                    asyncio.get_running_loop().call_later(0.5, self._retry, key)

    def _retry(self, key: TimerKey) -> None:
        if self._running:
            self._push(key)
            self._schedule()
