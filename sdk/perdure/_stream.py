"""One ``Invoke`` stream: demultiplexes server batches to attempts, batches what they send back.

Many invocations share a stream. Every message carries (invocation id, attempt): a ``Start`` with a
higher attempt replaces the running attempt (which is aborted), and messages for any other attempt
are ignored. Everything all attempts produce during one event-loop turn is coalesced into a single
``DeploymentBatch``: the first change in a turn schedules a flush with ``call_soon``.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterable, AsyncIterator, Callable

from perdure._attempt import AttemptRunner, Clock
from perdure._machine import AttemptMachine
from perdure.entry_codec import JournalValueCodec
from perdure.handler import Handler
from perdure_proto import protocol_pb2 as pb

__all__ = ["HandlerLookup", "InvokeStream"]

HandlerLookup = Callable[[str, str], Handler | None]


class InvokeStream:
    """Protocol endpoint of one bidi stream (transport-agnostic: feed batches, read batches)."""

    def __init__(
        self,
        lookup: HandlerLookup,
        codec: JournalValueCodec | None = None,
        clock: Clock | None = None,
        always_replay: bool = False,
    ) -> None:
        self._lookup = lookup
        self._codec = codec
        self._clock = clock
        self._always_replay = always_replay
        self._attempts: dict[str, AttemptRunner] = {}
        self._dirty: dict[AttemptRunner, None] = {}
        self._out: asyncio.Queue[pb.DeploymentBatch | None] = asyncio.Queue()
        self._flush_scheduled = False
        self._input_done = False
        self._closed = False

    # ------------------------------------------------------------------ input

    def on_batch(self, batch: pb.ServerBatch) -> None:
        for message in batch.messages:
            self._on_message(message)

    def _on_message(self, message: pb.ServerMessage) -> None:
        current = self._attempts.get(message.invocation_id)
        if message.WhichOneof("kind") == "start":
            if current is not None:
                if current.attempt >= message.attempt:
                    return
                current.abort()
            self._begin(message)
            return
        if current is not None and current.attempt == message.attempt:
            current.on_message(message)

    def _begin(self, message: pb.ServerMessage) -> None:
        start = message.start
        machine = AttemptMachine(message.invocation_id, message.attempt, start)
        handler = self._lookup(start.service, start.handler)
        runner = AttemptRunner(
            machine, handler, self, self._codec, self._clock, self._always_replay
        )
        self._attempts[message.invocation_id] = runner
        runner.start()

    async def pump(self, batches: AsyncIterable[pb.ServerBatch]) -> None:
        """Feed every batch of ``batches``; the output ends once input ended and work is done."""
        async for batch in batches:
            self.on_batch(batch)
        self._input_done = True
        self._schedule_flush()

    # ------------------------------------------------------------------ output

    def changed(self, runner: AttemptRunner) -> None:
        self._dirty[runner] = None
        self._schedule_flush()

    def _schedule_flush(self) -> None:
        if not self._flush_scheduled and not self._closed:
            self._flush_scheduled = True
            asyncio.get_running_loop().call_soon(self._flush)

    def _flush(self) -> None:
        self._flush_scheduled = False
        if self._closed:
            return
        messages: list[pb.DeploymentMessage] = []
        for runner in self._dirty:
            messages.extend(runner.machine.take_outbox())
            invocation_id = runner.machine.invocation_id
            if runner.machine.closed is not None and self._attempts.get(invocation_id) is runner:
                del self._attempts[invocation_id]
        self._dirty.clear()
        if messages:
            self._out.put_nowait(pb.DeploymentBatch(messages=messages))
        if self._input_done and not self._attempts:
            self._out.put_nowait(None)
            self._closed = True

    async def next_batch(self) -> pb.DeploymentBatch | None:
        """The next batch to send; ``None`` once input ended and every attempt finished."""
        return await self._out.get()

    async def batches(self) -> AsyncIterator[pb.DeploymentBatch]:
        """The batches to send, until the server closed its side and every attempt finished."""
        while (batch := await self._out.get()) is not None:
            yield batch

    def close(self) -> None:
        """The transport is gone: abort every attempt."""
        self._closed = True
        for runner in list(self._attempts.values()):
            runner.abort()
        self._attempts.clear()
