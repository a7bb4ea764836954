"""The leader unit: everything one partition's leader does, started on leadership and stopped as
a whole on loss of it.

Theory of operation
-------------------
Every replica applies every record; only the leader acts. When the partition processor applies
this node's own `AnnounceLeader`, it starts a `LeaderUnit` and, until leadership ends, hands it
the leader actions of each applied batch (`carry_out`). The unit owns one task group holding all
of a leader's work: the invoker (its streams, retries and watchdog), the timer service and the
cleaner. On start it resumes every invocation the store lists as running; when leadership ends
(another announcement is applied, or the node stops) the processor cancels the unit's task, the
group cancels every task in it, and the unit closes its streams, so nothing of a past leadership
keeps running or proposing. The unit reads the partition only through `partition.tables`.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field
from typing import Protocol, assert_never

from node import invoker as invoker_mod
from node.attempts import AttemptInfo
from node.cleaner import Cleaner
from node.clock import SYSTEM, Clock
from node.invoker import Invoker
from node.pause_webhook import PauseNotifier
from node.proposer import Proposer
from node.shuffle import Deliverer, Shuffle
from node.timers import TimerService
from partition import actions as act
from partition import tables
from partition.schema import Schema
from partition.store import Store
from perdure_proto import protocol_pb2 as pb
from perdure_proto import storage_pb2 as st

log = logging.getLogger(__name__)

LeaderAction = (
    act.Invoke
    | act.Ack
    | act.Ended
    | act.Completion
    | act.Cancel
    | act.RegisterTimer
    | act.Shuffle
    | act.Paused
)


class InvokerHandle(Protocol):
    """What the leader unit asks of its invoker (node.invoker.Invoker; a simulation substitutes
    its own, sim/invoker.py)."""

    def invoke(self, invocation_id: str, status: st.InvocationStatus | None = None) -> None: ...

    def ack(self, invocation_id: str, up_to_index: int, attempt: int = 0) -> None: ...

    def ended(self, invocation_id: str, abort: bool = False) -> None: ...

    def completion(
        self, invocation_id: str, index: int, result: pb.Result, callee_invocation_id: str
    ) -> None: ...

    def cancel(self, invocation_id: str) -> None: ...

    def in_flight(self) -> int: ...

    def attempts(self) -> list[AttemptInfo]:
        """A copy of what it knows of each invocation it runs or retries."""
        ...

    async def watchdog(self) -> None: ...

    async def close(self) -> None: ...


class InvokerFactory(Protocol):
    """Makes the invoker of one leadership; every task it starts belongs to `tasks`."""

    def __call__(
        self,
        store: Store,
        proposer: Proposer,
        schema: Schema,
        options: invoker_mod.Options,
        *,
        tasks: asyncio.TaskGroup,
        clock: Clock,
    ) -> InvokerHandle: ...


DEFAULT_INVOKER: InvokerFactory = Invoker


@dataclass(frozen=True, slots=True)
class Options:
    invoker: invoker_mod.Options = field(default_factory=invoker_mod.Options)
    cleanup_period_s: float = 60.0
    timer_horizon_s: float = 60.0
    group: int = 0
    pause_webhook_url: str = ""  # "": none (node/pause_webhook.py)


class LeaderUnit:
    def __init__(
        self,
        store: Store,
        proposer: Proposer,
        schema: Schema,
        options: Options,
        clock: Clock = SYSTEM,
        deliverer: Deliverer | None = None,
        invoker_factory: InvokerFactory = DEFAULT_INVOKER,
    ) -> None:
        """`deliverer` reaches the other partitions (None: there are none); `invoker_factory`
        makes the invoker (the real one, unless a simulation substitutes its own)."""
        self._deliverer = deliverer
        self._invoker_factory = invoker_factory
        self._store = store
        self._proposer = proposer
        self._schema = schema
        self._options = options
        self._clock = clock
        self._ready = asyncio.Event()
        self._invoker: InvokerHandle | None = None
        self._timers: TimerService | None = None
        self._shuffle: Shuffle | None = None
        self._pauses: PauseNotifier | None = None

    async def run(self) -> None:
        """Lead until cancelled: resume running invocations, fire timers, purge expired ones."""
        invoker: InvokerHandle | None = None
        try:
            async with asyncio.TaskGroup() as tg:
                invoker = self._invoker_factory(
                    self._store,
                    self._proposer,
                    self._schema,
                    self._options.invoker,
                    tasks=tg,
                    clock=self._clock,
                )
                timers = TimerService(
                    self._store, self._proposer, self._options.timer_horizon_s, self._clock
                )
                cleaner = Cleaner(
                    self._store, self._proposer, self._options.cleanup_period_s, self._clock
                )
                tg.create_task(invoker.watchdog(), name="invoker-watchdog")
                tg.create_task(timers.run(), name="timers")
                tg.create_task(cleaner.run(), name="cleaner")
                if self._deliverer is not None:
                    shuffle = Shuffle(
                        self._options.group,
                        self._store,
                        self._proposer,
                        self._deliverer,
                        self._clock,
                    )
                    tg.create_task(shuffle.run(), name="shuffle")
                    self._shuffle = shuffle
                self._pauses = self._pause_notifier(tg)
                self._invoker, self._timers = invoker, timers
                running = tables.active_invocations(self._store)
                log.info("leading the partition; resuming %d running invocations", len(running))
                for invocation_id in running:
                    invoker.invoke(invocation_id)
                self._ready.set()
        finally:
            self._invoker = self._timers = self._shuffle = self._pauses = None
            if invoker is not None:
                await invoker.close()

    def _pause_notifier(self, tg: asyncio.TaskGroup) -> PauseNotifier:
        url = self._options.pause_webhook_url
        try:
            pauses = PauseNotifier(url, self._store, self._proposer, self._clock)
        except ValueError as exc:  # a bad URL must not stop the leader: pauses still happen
            log.error("no pause notifications: %s", exc)
            pauses = PauseNotifier("", self._store, self._proposer, self._clock)
        tg.create_task(pauses.run(), name="pause-webhook")
        return pauses

    async def ready(self) -> None:
        """Return once the unit carries out actions (its components exist)."""
        await self._ready.wait()

    def carry_out(self, action: LeaderAction) -> None:
        invoker, timers = self._invoker, self._timers
        if invoker is None or timers is None:
            return  # stopping: the next leader resumes from the store
        match action:
            case act.Invoke(invocation_id=invocation_id, status=status):
                invoker.invoke(invocation_id, status)
            case act.Ack(invocation_id=invocation_id, up_to_index=index, attempt=attempt):
                invoker.ack(invocation_id, index, attempt)
            case act.Ended(invocation_id=invocation_id, abort=abort):
                invoker.ended(invocation_id, abort)
            case act.Completion():
                invoker.completion(
                    action.invocation_id, action.index, action.result, action.callee_invocation_id
                )
            case act.Cancel(invocation_id=invocation_id):
                invoker.cancel(invocation_id)
            case act.RegisterTimer():
                timers.register(action.wake_up_time_ms, action.invocation_id, action.index)
            case act.Shuffle(seq=seq):
                if self._shuffle is None:
                    log.error("a message for another partition, but no way to reach one")
                else:
                    self._shuffle.notify(seq)
            case act.Paused():
                if self._pauses is not None:
                    self._pauses.notify(action)
            case _:
                assert_never(action)

    def in_flight(self) -> int:
        return 0 if self._invoker is None else self._invoker.in_flight()

    def attempts(self) -> list[AttemptInfo]:
        """The invoker's view of the invocations it runs or retries (empty before it starts)."""
        return [] if self._invoker is None else self._invoker.attempts()
