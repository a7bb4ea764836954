"""Time, injected: every component of a node that reads the time, sleeps or sets a timer does it
through a `Clock`, so a simulation can run the same code on simulated time.

Two readings with different purposes: `now_ms` is the wall clock (milliseconds since the epoch;
stamped on log records, compared with durable wake-up and expiry times), `monotonic` is for
measuring durations (inactivity, deadlines) and never jumps.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Protocol


class Cancellable(Protocol):
    def cancel(self) -> None: ...


class Clock(Protocol):
    def now_ms(self) -> int:
        """Wall-clock time in milliseconds since the epoch."""
        ...

    def monotonic(self) -> float:
        """Seconds on a clock that never goes back; only differences mean anything."""
        ...

    async def sleep(self, seconds: float) -> None: ...

    def call_later(self, seconds: float, callback: Callable[[], None]) -> Cancellable:
        """Run `callback` on the event loop after `seconds` (unless cancelled first)."""
        ...


class SystemClock:
    """The real clocks and the running event loop's timers."""

    def now_ms(self) -> int:
        return int(time.time() * 1000)

    def monotonic(self) -> float:
        return asyncio.get_running_loop().time()

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(seconds)

    def call_later(self, seconds: float, callback: Callable[[], None]) -> Cancellable:
        return asyncio.get_running_loop().call_later(seconds, callback)


SYSTEM = SystemClock()
