"""The network between partition groups: the `Deliverer` (node.shuffle) the leaders' shuffles
use, with faults from the seed. A shuffle delivers from its member's node to the target group's
leader as that node reaches it (`GroupLog.append_from`): across a network cut it reaches none,
or a cut-off leader that cannot commit, and the delivery fails.

It keeps the Deliverer contract (the records of one call are appended to the target's log in
order; the call returns only once all of them are durable there, and raises when they may not
be) and breaks everything the contract allows: a call may fail before any record or part way
(the rest are not appended), fail after appending everything (a lost acknowledgement), append a
record twice, take its time, and send a stale copy of the whole call again later (a
retransmission that arrives after newer deliveries: duplicated and reordered). Records are
stamped with the appender's clock, as a proposer stamps them.
"""

from __future__ import annotations

import asyncio
import contextvars
import random
from dataclasses import dataclass

from node.clock import Clock
from perdure_proto import records_pb2 as rec
from sim.log import GroupLog
from sim.trace import Trace


class DeliveryFailed(Exception):
    """A simulated network failure; the shuffle retries."""


@dataclass(slots=True)
class DeliveryFaults:
    lost: float = 0.0  # per record: the call fails before appending it
    unknown: float = 0.0  # per call: everything was appended, but the call fails
    duplicate: float = 0.0  # per record: appended twice
    ghost: float = 0.0  # per call: a stale copy arrives again later
    max_delay_s: float = 0.005  # per record, before appending it
    # Append a call's records all at once, as node/backend.py `append_all` does, rather than
    # each after the previous one is durable.
    concurrent: bool = False
    max_ghost_delay_s: float = 8.0


class Network:
    def __init__(
        self,
        logs: list[GroupLog],
        rng: random.Random,
        trace: Trace,
        clock: Clock,
        tasks: asyncio.TaskGroup,
    ) -> None:
        self.faults = DeliveryFaults()
        self.ghosts_in_flight = 0
        self._logs = logs
        self._rng = rng
        self._trace = trace
        self._clock = clock
        self._tasks = tasks

    def at(self, node: int) -> NodeDeliverer:
        """The deliverer of the shuffles of `node`'s members."""
        return NodeDeliverer(self, node)

    async def deliver(self, target: int, records: list[rec.Envelope], node: int) -> None:
        f = self.faults
        if f.concurrent:
            await asyncio.gather(*(self._append(target, e, node) for e in records))
            return await self._after(target, records, node)
        for envelope in records:
            await asyncio.sleep(self._rng.uniform(0, f.max_delay_s))
            if self._rng.random() < f.lost:
                self._event(f"deliver to g{target}: lost seq {_seqs(envelope)}")
                raise DeliveryFailed(f"simulated: a delivery to group {target} was lost")
            await self._append(target, envelope, node)
            if self._rng.random() < f.duplicate:
                self._event(f"deliver to g{target}: duplicated seq {_seqs(envelope)}")
                await self._append(target, envelope, node)
        await self._after(target, records, node)

    async def _after(self, target: int, records: list[rec.Envelope], node: int) -> None:
        f = self.faults
        if self._rng.random() < f.ghost:
            delay = self._rng.uniform(0, f.max_ghost_delay_s)
            self._event(f"deliver to g{target}: a stale copy follows in {delay:.3f} s")
            self.ghosts_in_flight += 1
            # In flight on the network, not part of the sending process: a crash of the
            # sender does not take it back.
            self._tasks.create_task(
                self._ghost(target, list(records), delay, node),
                name="ghost",
                context=contextvars.Context(),
            )
        if self._rng.random() < f.unknown:
            self._event(f"deliver to g{target}: acknowledgement lost")
            raise DeliveryFailed(f"simulated: the acknowledgement from group {target} was lost")

    async def _ghost(
        self, target: int, records: list[rec.Envelope], delay: float, node: int
    ) -> None:
        try:
            await asyncio.sleep(delay)
            for envelope in records:
                await self._append(target, envelope, node)
        except Exception:  # a copy that does not arrive is no loss
            pass
        finally:
            self.ghosts_in_flight -= 1

    async def _append(self, target: int, envelope: rec.Envelope, node: int) -> None:
        stamped = rec.Envelope()
        stamped.CopyFrom(envelope)
        stamped.timestamp_ms = self._clock.now_ms()
        await self._logs[target].append_from(node, stamped.SerializeToString())

    def _event(self, what: str) -> None:
        self._trace.event(asyncio.get_running_loop().time(), what)


class NodeDeliverer:
    """node.shuffle.Deliverer for the members of one node."""

    def __init__(self, network: Network, node: int) -> None:
        self._network = network
        self._node = node

    async def deliver(self, target: int, records: list[rec.Envelope]) -> None:
        await self._network.deliver(target, records, self._node)


def _seqs(envelope: rec.Envelope) -> str:
    return ",".join(str(m.seq) for m in envelope.deliver.messages)
