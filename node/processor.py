"""The partition processor: tails the log, applies each record in one store write (with the
applied position), and, while this member leads, hands the resulting leader actions to its
leader unit (node.leader).

This is the one place where committed log records enter the node's state. Actions of records
that precede this member's own `AnnounceLeader` describe the past (they were carried out, or
are superseded) and are skipped; when the announcement is applied, a leader unit starts (it
resumes every invocation the store says is running), and when another member's announcement is
applied, the unit is stopped as a whole. `run()` owns the unit's task: cancelling the processor
stops everything it started.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from typing import assert_never

from log.api import Log
from node import leader, metrics
from node.clock import SYSTEM, Clock
from node.leader import LeaderUnit
from node.proposer import Proposer
from node.shuffle import Deliverer
from partition import actions as act
from partition import tables
from partition.invocation_control import KILLED
from partition.state_machine import StateMachine
from partition.store import Store

log = logging.getLogger(__name__)

TRIM_EVERY = 4096  # applied records between trims of the log's in-memory copy
# ... or applied bytes: a few big records (a 31 MiB request is two: its input and its output)
# would otherwise stay in the log's memory until 4096 more records came.
TRIM_EVERY_BYTES = 32 * 1024 * 1024
MAX_APPLY_BATCH = 512  # records applied in one store write


class PartitionProcessor:
    def __init__(
        self,
        log_: Log,
        store: Store,
        state_machine: StateMachine,
        proposer: Proposer,
        leader_id: str,
        epoch: int,
        on_schema_changed: Callable[[], None],
        leader_options: leader.Options,
        clock: Clock = SYSTEM,
        trim_every: int = TRIM_EVERY,
        deliverer: Deliverer | None = None,
        invoker_factory: leader.InvokerFactory = leader.DEFAULT_INVOKER,
        replicated: bool = False,
    ) -> None:
        """`deliverer` reaches the other partitions, for the leader's shuffle (None: there are
        none); `invoker_factory` makes each leadership's invoker (node.leader); `replicated`:
        the group has other members, so the log is trimmed only as far as SafeTrim records
        allow (the others may still need what this member holds)."""
        self._replicated = replicated
        self._deliverer = deliverer
        self._invoker_factory = invoker_factory
        self._log = log_
        self._store = store
        self._completed = metrics.LabelCache(metrics.INVOCATIONS_COMPLETED)
        self._sm = state_machine
        self._proposer = proposer
        self._leader_id = leader_id
        self._epoch = epoch
        self._on_schema_changed = on_schema_changed
        self._leader_options = leader_options
        self._clock = clock
        self._trim_every = trim_every
        self._unit: LeaderUnit | None = None
        self._unit_task: asyncio.Task[None] | None = None
        self.applied_lsn = store.applied_lsn()
        self._applied_changed = asyncio.Event()

    @property
    def active(self) -> bool:
        """True while this member leads the partition (its leader unit runs)."""
        return self._unit is not None

    @property
    def leader_unit(self) -> LeaderUnit | None:
        return self._unit

    async def run(self) -> None:
        """Apply the log until cancelled; the leader unit, when there is one, runs in this
        processor's task group and stops with it."""
        async with asyncio.TaskGroup() as tg:
            try:
                await self._apply_log(tg)
            finally:
                await self._stop_leading()

    async def _apply_log(self, tg: asyncio.TaskGroup) -> None:
        start = 0 if self.applied_lsn is None else self.applied_lsn + 1
        if self.applied_lsn is not None:
            self._store.sync()
            await self._trim(self.applied_lsn)  # the store holds everything up to here
        since_trim = bytes_since_trim = 0
        async for batch in self._log.read_batches(start, MAX_APPLY_BATCH):
            t0 = time.perf_counter()
            # Every record available now is applied in one store write; actions are carried
            # out only after that write, so they see what they describe.
            txn = self._store.transaction()
            actions: list[act.Action] = []
            for entry in batch:
                actions.extend(self._sm.apply(txn, entry.record))
            last = batch[-1].lsn
            txn.commit(last)
            self.applied_lsn = last
            for action in actions:
                if isinstance(action, act.LeaderAnnounced):
                    await self._on_leader_announced(tg, action)
                else:
                    self._carry_out(action)
            metrics.PARTITION_APPLY_SECONDS.observe(time.perf_counter() - t0)
            metrics.PARTITION_APPLIED.inc(len(batch))
            metrics.APPLIED_LSN.set(last)
            self._applied_changed.set()
            self._applied_changed = asyncio.Event()
            since_trim += len(batch)
            bytes_since_trim += sum(len(entry.record) for entry in batch)
            if since_trim >= self._trim_every or bytes_since_trim >= TRIM_EVERY_BYTES:
                # Applied records live on in the store; once it is synced, the log can forget
                # them (its memory and its journal stay bounded).
                self._store.sync()
                await self._trim(last)
                since_trim = bytes_since_trim = 0

    async def _trim(self, synced: int) -> None:
        """Trim the log through `synced` (the store holds it), or less in a replicated group:
        only as far as every member holds (the last SafeTrim applied)."""
        up_to: int | None = synced
        if self._replicated:
            safe = tables.safe_trim(self._store)
            up_to = None if safe is None else min(synced, safe)
        if up_to is not None:
            await self._log.trim(up_to)

    async def wait_applied(self, lsn: int, timeout: float = 30.0) -> None:
        """Return once the record at `lsn` has been applied."""
        await self._wait_for(
            lambda: self.applied_lsn is not None and self.applied_lsn >= lsn,
            timeout,
            f"log position {lsn} was not applied within {timeout} s",
        )

    async def wait_active(self, timeout: float) -> None:
        """Return once this member's leader unit runs (its announcement was applied)."""
        await self._wait_for(
            lambda: self.active, timeout, f"this member did not start leading within {timeout} s"
        )

    async def _wait_for(self, done: Callable[[], bool], timeout: float, failure: str) -> None:
        """Until `done()` holds, looked at after each applied batch; TimeoutError(`failure`)."""
        deadline = self._clock.monotonic() + timeout
        while not done():
            remaining = deadline - self._clock.monotonic()
            if remaining <= 0:
                raise TimeoutError(failure)
            try:
                await asyncio.wait_for(self._applied_changed.wait(), remaining)
            except TimeoutError:
                pass  # the loop's check raises the error that names what was awaited

    async def step_down(self) -> None:
        """Stop the leader unit (Raft deposed this member); the next announcement applied,
        ours or another member's, decides what runs next."""
        await self._stop_leading()

    def _count_completed(self, invocation_id: str) -> None:
        status = tables.get_status(self._store, invocation_id)
        if status is None:
            return
        if status.result.HasField("value"):
            outcome = "succeeded"
        elif status.result.failure.message == KILLED and status.result.failure.code == 409:
            outcome = "killed"
            metrics.INVOCATIONS_KILLED.inc()
        else:
            outcome = "failed"
        self._completed.inc(outcome, status.service, status.handler)

    def _carry_out(self, action: act.Action) -> None:
        match action:
            case act.ReplyCompleted() | act.ReplyAccepted() | act.ReplyRejected() | act.ReplyDone():
                self._proposer.deliver(action)
            case act.SchemaChanged():
                self._on_schema_changed()
            case act.Ended(invocation_id=invocation_id, completed=completed):
                if completed and self._unit is not None:  # counted once: by the leader
                    self._count_completed(invocation_id)
                if self._unit is not None:
                    self._unit.carry_out(action)
            case (
                act.Invoke()
                | act.Ack()
                | act.Completion()
                | act.Cancel()
                | act.RegisterTimer()
                | act.Shuffle()
                | act.Paused()
            ):
                if self._unit is not None:
                    self._unit.carry_out(action)
            case act.LeaderAnnounced():
                raise AssertionError("leadership changes are handled by _on_leader_announced")
            case _:
                assert_never(action)

    async def _on_leader_announced(
        self, tg: asyncio.TaskGroup, action: act.LeaderAnnounced
    ) -> None:
        mine = action.leader_id == self._leader_id and action.epoch == self._epoch
        # Every announcement starts a new leadership: a unit of an earlier one (even ours,
        # announced again) stops, since what it proposes is refused from now on.
        await self._stop_leading()
        if mine:
            unit = LeaderUnit(
                self._store,
                # What the unit proposes applies only while this leadership is current.
                self._proposer.fenced(action.leadership),
                self._sm.schema,
                self._leader_options,
                self._clock,
                self._deliverer,
                self._invoker_factory,
            )
            self._unit_task = tg.create_task(unit.run(), name="leader-unit")
            await unit.ready()
            self._unit = unit

    async def _stop_leading(self) -> None:
        task, self._unit_task, self._unit = self._unit_task, None, None
        if task is not None and not task.done():
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
