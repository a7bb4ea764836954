"""Proposing records to the partition log, and matching the partition's replies to the
ingress requests that wait for them.

Request ids are `boot epoch << 32 | counter`: a reply stored in the log by an earlier run of the
process can never be mistaken for a request of this run.
"""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import Awaitable, Callable

from log.api import Log
from partition import actions as act
from perdure_proto import records_pb2 as rec


def now_ms() -> int:
    return int(time.time() * 1000)


class Proposer:
    def __init__(self, log: Log, clock: Callable[[], int] = now_ms, leadership: int = 0) -> None:
        self._log = log
        self._clock = clock
        self._leadership = leadership
        self._epoch = int.from_bytes(os.urandom(4), "big") & 0x7FFFFFFF
        self._counter = 0
        self._waiting: dict[int, asyncio.Future[act.Reply]] = {}

    def propose(self, envelope: rec.Envelope) -> Awaitable[int]:
        """Append `envelope` stamped with the proposer's clock now; awaiting the result gives
        its position once durable. Not a coroutine, so that the log's own future (RaftLog) goes
        straight to the caller: `ensure_future` of it creates no Task."""
        envelope.timestamp_ms = self._clock()
        if self._leadership:
            envelope.leadership = self._leadership
        return self._log.append(envelope.SerializeToString())

    def fenced(self, leadership: int) -> Proposer:
        """A proposer to the same log whose records apply only while leadership number
        `leadership` is the current one (a leader unit's)."""
        return Proposer(self._log, self._clock, leadership)

    def new_request(self) -> tuple[int, asyncio.Future[act.Reply]]:
        self._counter += 1
        request_id = (self._epoch << 32) | self._counter
        fut: asyncio.Future[act.Reply] = asyncio.get_running_loop().create_future()
        self._waiting[request_id] = fut
        return request_id, fut

    def forget(self, request_id: int) -> None:
        self._waiting.pop(request_id, None)

    def deliver(self, reply: act.Reply) -> None:
        fut = self._waiting.pop(reply.request_id, None)
        if fut is not None and not fut.done():
            fut.set_result(reply)

    async def propose_and_wait(
        self, envelope: rec.Envelope, request_id: int, fut: asyncio.Future[act.Reply]
    ) -> act.Reply:
        """Propose a record that carries `request_id` and wait for the partition's answer."""
        try:
            await self.propose(envelope)
            return await fut
        finally:
            self.forget(request_id)
