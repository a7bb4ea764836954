"""The partition processor: tails the log, applies each record in one store write (with the
applied position), and, while this member leads, carries out the resulting actions.

This is the one place where committed log records enter the node's state. Actions of records
that precede this member's own `AnnounceLeader` describe the past (they were carried out, or
are superseded) and are skipped; when the announcement is applied, the leader resumes every
invocation the store says is running.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from typing import assert_never

from log.api import Log
from node import metrics
from node.cleaner import Cleaner
from node.invoker import Invoker
from node.proposer import Proposer
from node.timers import TimerService
from partition import actions as act
from partition import tables
from partition.state_machine import StateMachine
from partition.store import Store

log = logging.getLogger(__name__)

TRIM_EVERY = 4096  # applied records between trims of the log's in-memory copy
MAX_APPLY_BATCH = 512  # records applied in one store write


class PartitionProcessor:
    def __init__(
        self,
        log_: Log,
        store: Store,
        state_machine: StateMachine,
        invoker: Invoker,
        proposer: Proposer,
        leader_id: str,
        epoch: int,
        on_schema_changed: Callable[[], None],
        timers: TimerService,
        cleaner: Cleaner,
        trim_every: int = TRIM_EVERY,
    ) -> None:
        self._log = log_
        self._store = store
        self._sm = state_machine
        self._invoker = invoker
        self._proposer = proposer
        self._leader_id = leader_id
        self._epoch = epoch
        self._on_schema_changed = on_schema_changed
        self._timers = timers
        self._cleaner = cleaner
        self._trim_every = trim_every
        self.active = False
        self.applied_lsn = store.applied_lsn()
        self._applied_changed = asyncio.Event()

    async def run(self) -> None:
        start = 0 if self.applied_lsn is None else self.applied_lsn + 1
        if self.applied_lsn is not None:
            self._store.sync()
            await self._log.trim(self.applied_lsn)  # the store holds everything up to here
        since_trim = 0
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
                self._carry_out(action)
            metrics.PARTITION_APPLY_SECONDS.observe(time.perf_counter() - t0)
            metrics.PARTITION_APPLIED.inc(len(batch))
            metrics.APPLIED_LSN.set(last)
            self._applied_changed.set()
            self._applied_changed = asyncio.Event()
            since_trim += len(batch)
            if since_trim >= self._trim_every:
                # Applied records live on in the store; once it is synced, the log can forget
                # them (its memory and its journal stay bounded).
                self._store.sync()
                await self._log.trim(last)
                since_trim = 0

    async def wait_applied(self, lsn: int, timeout: float = 30.0) -> None:
        """Return once the record at `lsn` has been applied."""
        deadline = asyncio.get_running_loop().time() + timeout
        while self.applied_lsn is None or self.applied_lsn < lsn:
            remaining = deadline - asyncio.get_running_loop().time()
            if remaining <= 0:
                raise TimeoutError(f"log position {lsn} was not applied within {timeout} s")
            await asyncio.wait_for(self._applied_changed.wait(), remaining)

    def _carry_out(self, action: act.Action) -> None:
        match action:
            case act.ReplyCompleted() | act.ReplyAccepted() | act.ReplyRejected() | act.ReplyDone():
                self._proposer.deliver(action)
            case act.SchemaChanged():
                self._on_schema_changed()
            case act.LeaderAnnounced(leader_id=leader_id, epoch=epoch):
                self._on_leader_announced(leader_id, epoch)
            case act.Invoke(invocation_id=invocation_id, status=status):
                if self.active:
                    self._invoker.invoke(invocation_id, status)
            case act.Ack(invocation_id=invocation_id, up_to_index=index):
                if self.active:
                    self._invoker.ack(invocation_id, index)
            case act.Ended(invocation_id=invocation_id, abort=abort, completed=completed):
                self._invoker.ended(invocation_id, abort)
                if completed:
                    metrics.INVOCATIONS_COMPLETED.inc()
            case act.Completion():
                if self.active:
                    self._invoker.completion(
                        action.invocation_id,
                        action.index,
                        action.result,
                        action.callee_invocation_id,
                    )
            case act.Cancel(invocation_id=invocation_id):
                if self.active:
                    self._invoker.cancel(invocation_id)
            case act.RegisterTimer():
                if self.active:
                    self._timers.register(
                        action.wake_up_time_ms, action.invocation_id, action.index
                    )
            case _:
                assert_never(action)

    def _on_leader_announced(self, leader_id: str, epoch: int) -> None:
        mine = leader_id == self._leader_id and epoch == self._epoch
        if mine and not self.active:
            self.active = True
            running = tables.active_invocations(self._store)
            log.info("leading the partition; resuming %d running invocations", len(running))
            for invocation_id in running:
                self._invoker.invoke(invocation_id)
            self._timers.start()
            self._cleaner.start()
            self._invoker.start()
        elif not mine:
            self.active = False
            self._timers.stop()
            self._cleaner.stop()
