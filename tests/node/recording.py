"""A leader unit's invoker seam (node.leader.InvokerHandle) that records what it is asked to do
and runs nothing: for tests of the processor and of leadership."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

from node import invoker as invoker_mod
from node.attempts import AttemptInfo
from node.clock import Clock
from node.proposer import Proposer
from partition.schema import Schema
from partition.store import Store
from perdure_proto import protocol_pb2 as pb
from perdure_proto import storage_pb2 as st


@dataclass
class RecordingInvoker:
    invoked: list[str] = field(default_factory=list)
    acks: list[tuple[str, int]] = field(default_factory=list)
    ended_: list[str] = field(default_factory=list)
    proposer: Proposer | None = None  # what its leader unit gave it to propose with
    schema: Schema | None = None

    def make(
        self,
        store: Store,
        proposer: Proposer,
        schema: Schema,
        options: invoker_mod.Options,
        *,
        tasks: asyncio.TaskGroup,
        clock: Clock,
    ) -> RecordingInvoker:
        """A node.leader.InvokerFactory that hands out this recorder."""
        self.proposer, self.schema = proposer, schema
        return self

    def invoke(self, invocation_id: str, status: st.InvocationStatus | None = None) -> None:
        self.invoked.append(invocation_id)

    def ack(self, invocation_id: str, up_to_index: int, attempt: int = 0) -> None:
        self.acks.append((invocation_id, up_to_index))

    def ended(self, invocation_id: str, abort: bool = False) -> None:
        self.ended_.append(invocation_id)

    def completion(
        self, invocation_id: str, index: int, result: pb.Result, callee_invocation_id: str
    ) -> None:
        pass

    def cancel(self, invocation_id: str) -> None:
        pass

    def in_flight(self) -> int:
        return 0

    def attempts(self) -> list[AttemptInfo]:
        return []

    async def watchdog(self) -> None:
        await asyncio.Event().wait()

    async def close(self) -> None:
        pass
