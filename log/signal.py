"""`Signal`: wake every coroutine waiting for "something changed" (event-loop thread only)."""

from __future__ import annotations

import asyncio


class Signal:
    """Unlike `asyncio.Event`, it needs no reset: `wake` releases the current waiters only, and
    later `wait` calls block until the next `wake`. Cancelling a waiter affects no other waiter."""

    __slots__ = ("_waiter",)

    def __init__(self) -> None:
        self._waiter: asyncio.Future[None] | None = None

    async def wait(self) -> None:
        if self._waiter is None:
            self._waiter = asyncio.get_running_loop().create_future()
        await asyncio.shield(self._waiter)

    def wake(self) -> None:
        waiter, self._waiter = self._waiter, None
        if waiter is not None and not waiter.done():
            waiter.set_result(None)
