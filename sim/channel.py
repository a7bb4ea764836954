"""A one-way link with random latency that keeps its order (a gRPC stream, a TCP connection):
items are delivered in the order they were sent, each after its own latency at the earliest."""

from __future__ import annotations

import asyncio
import random
from collections import deque
from collections.abc import Callable
from typing import Generic, TypeVar

T = TypeVar("T")


class Channel(Generic[T]):
    def __init__(
        self, deliver: Callable[[T], None], rng: random.Random, max_latency_s: float
    ) -> None:
        self._deliver = deliver
        self._rng = rng
        self.max_latency_s = max_latency_s
        self._queue: deque[tuple[float, T]] = deque()
        self._timer: asyncio.TimerHandle | None = None
        self._closed = False

    def send(self, item: T) -> None:
        if self._closed:
            return
        loop = asyncio.get_running_loop()
        due = loop.time() + self._rng.uniform(0, self.max_latency_s)
        if self._queue:
            due = max(due, self._queue[-1][0])
        self._queue.append((due, item))
        if self._timer is None:
            self._timer = loop.call_at(self._queue[0][0], self._flush)

    def close(self) -> None:
        """Drop everything in flight; later sends go nowhere."""
        self._closed = True
        self._queue.clear()
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def _flush(self) -> None:
        loop = asyncio.get_running_loop()
        self._timer = None
        while self._queue and self._queue[0][0] <= loop.time() and not self._closed:
            _, item = self._queue.popleft()
            self._deliver(item)
        if self._queue and not self._closed:
            self._timer = loop.call_at(self._queue[0][0], self._flush)
