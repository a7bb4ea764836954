"""The invoker a simulated leader unit uses (node.leader.InvokerHandle), in place of
node.invoker's gRPC one: it runs attempts on the simulated deployment (sim/deployment.py) and
proposes what they send as `InvokerEffect` records, keeping node.invoker's rules.

* An attempt gets a `Start` built from the store (journal, eager state, cancellation flag).
* Each batch of messages from the deployment becomes one `InvokerEffect` (its commands, then a
  suspension); `Ack`, `Completion` and `Cancel` actions go to the running attempt.
* Messages travel over ordered links with random latency (sim/channel.py). A link may break
  (fault: a lost effect or a lost server message): the attempt fails, as on a lost stream.
* A failed attempt (error, broken link, failed append, silence beyond the watchdog limit) is
  retried after a delay, and only once every effect it proposed has settled and the durable
  ones are applied, so the next `Start` holds them (node.invoker). A failed effect fails its
  attempt even when the attempt already ended. Attempts are never given up here: the
  simulation checks that everything completes.
"""

from __future__ import annotations

import asyncio
import functools
import random
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from typing import Any

from log.api import Error as LogError
from node import invoker as invoker_mod
from node.attempts import AttemptInfo
from node.clock import Cancellable, Clock
from node.proposer import Proposer
from partition import tables
from partition.schema import Schema
from partition.store import Store
from perdure_proto import protocol_pb2 as pb
from perdure_proto import records_pb2 as rec
from perdure_proto import storage_pb2 as st
from sim import services
from sim.channel import Channel
from sim.deployment import Behaviour, Context, Execution, Observed, run_attempt
from sim.log import GroupLog
from sim.trace import Trace

APPLIED_POLL_S = 0.005


@dataclass(slots=True)
class LinkFaults:
    lost: float = 0.0  # per message: the link breaks (the attempt fails)
    max_latency_s: float = 0.005
    max_retry_s: float = 0.5
    watchdog_s: float = 5.0


@dataclass(slots=True)
class Environment:
    """What every simulated invoker shares: the deployment, the faults, the observers."""

    rng: random.Random
    trace: Trace
    observed: Observed
    behaviour: Behaviour = field(default_factory=Behaviour)
    links: LinkFaults = field(default_factory=LinkFaults)


@dataclass(slots=True)
class _Attempt:
    invocation_id: str
    number: int = 0
    running: bool = False
    task: asyncio.Task[None] | None = None
    ctx: Context | None = None
    up: Channel[list[pb.DeploymentMessage]] | None = None
    down: Channel[pb.ServerMessage] | None = None
    pending: list[asyncio.Future[int]] = field(default_factory=list)
    next_number: int = 0  # the number a retry's barrier fenced for the next attempt
    restarting: bool = False  # a retry is settling effects / waiting for its barrier
    last_lsn: int = 0  # log position of its latest durable effect
    retry: Cancellable | None = None
    last_activity: float = 0.0


class SimInvoker:
    def __init__(
        self,
        store: Store,
        proposer: Proposer,
        schema: Schema,
        tasks: asyncio.TaskGroup,
        clock: Clock,
        env: Environment,
        name: str,
        log: GroupLog,
    ) -> None:
        self._store = store
        self._proposer = proposer
        self._schema = schema
        self._tasks = tasks
        self._clock = clock
        self._env = env
        self._name = name
        self._log = log
        self._attempts: dict[str, _Attempt] = {}
        self._closed = False
        self._numbers = 0  # attempt numbers grow over all attempts (node.invoker)

    # ------------------------------------------------------------------ leader actions

    def invoke(self, invocation_id: str, status: st.InvocationStatus | None = None) -> None:
        att = self._attempts.setdefault(invocation_id, _Attempt(invocation_id))
        if att.running or att.retry is not None or att.restarting or self._closed:
            return
        if status is None:
            status = tables.get_status(self._store, invocation_id)
        if status is None or status.phase != st.INVOKED:
            self._attempts.pop(invocation_id, None)
            return
        if att.next_number:
            att.number, att.next_number = att.next_number, 0
        else:
            self._numbers += 1
            att.number = self._numbers
        att.running = True
        att.last_activity = self._clock.monotonic()
        start = pb.Start(service=status.service, handler=status.handler, key=status.key)
        start.input = status.input
        start.cancelled = status.cancel_requested
        if status.journal_length:
            start.journal.extend(tables.journal_entries(self._store, invocation_id))
        if status.service_type in (pb.VIRTUAL_OBJECT, pb.WORKFLOW):
            start.state.extend(tables.state_entries(self._store, status.service, status.key))
        self._trace(f"start {invocation_id} #{att.number} journal={len(start.journal)}")
        links = self._env.links
        number = att.number
        att.up = Channel(
            functools.partial(self._on_batch, att, number), self._env.rng, links.max_latency_s
        )
        att.down = Channel(
            functools.partial(self._to_deployment, att, number), self._env.rng, links.max_latency_s
        )
        msg = pb.ServerMessage(invocation_id=invocation_id, attempt=number)
        msg.start.CopyFrom(start)
        att.down.send(msg)

    def ack(self, invocation_id: str, up_to_index: int, attempt: int = 0) -> None:
        att = self._attempts.get(invocation_id)
        if attempt and att is not None and att.number != attempt:
            return  # another attempt's command (node/invoker.py does the same)
        self._send(invocation_id, lambda m: m.ack.CopyFrom(pb.Ack(up_to_index=up_to_index)))

    def completion(
        self, invocation_id: str, index: int, result: pb.Result, callee_invocation_id: str
    ) -> None:
        completion = pb.Completion(index=index, result=result, invocation_id=callee_invocation_id)
        self._send(invocation_id, lambda m: m.completion.CopyFrom(completion))

    def cancel(self, invocation_id: str) -> None:
        self._send(invocation_id, lambda m: m.cancel.SetInParent())

    def ended(self, invocation_id: str, abort: bool = False) -> None:
        att = self._attempts.pop(invocation_id, None)
        if att is None:
            return
        if att.retry is not None:
            att.retry.cancel()
        if abort:
            self._stop(att)

    def in_flight(self) -> int:
        return sum(1 for a in self._attempts.values() if a.running)

    def attempts(self) -> list[AttemptInfo]:
        return []  # nothing in the simulation queries the system tables

    async def watchdog(self) -> None:
        while True:
            await self._clock.sleep(1.0)
            now = self._clock.monotonic()
            for att in list(self._attempts.values()):
                if att.running and now - att.last_activity > self._env.links.watchdog_s:
                    self._fail(att, "silent for too long")

    async def close(self) -> None:
        self._closed = True
        for att in self._attempts.values():
            if att.retry is not None:
                att.retry.cancel()
            self._stop(att)

    # ------------------------------------------------------------------ the deployment side

    def _to_deployment(self, att: _Attempt, number: int, msg: pb.ServerMessage) -> None:
        if self._closed or not att.running or att.number != number:
            return
        if msg.HasField("start"):
            self._begin(att, msg.start)
        elif att.ctx is not None:
            att.ctx.on_message(msg)

    def _begin(self, att: _Attempt, start: pb.Start) -> None:
        handler = services.HANDLERS[(start.service, start.handler)]
        up = att.up
        if up is None:
            return
        attempt = Execution(att.invocation_id, 0, "", self._name, att.number, self._now())
        att.ctx = Context(
            att.invocation_id,
            start,
            up.send,
            self._env.rng,
            self._env.behaviour,
            attempt,
            self._env.observed,
            self._clock.now_ms,
        )
        att.task = self._spawn(run_attempt(att.ctx, handler, start.input), "attempt")

    def _on_batch(self, att: _Attempt, number: int, batch: list[pb.DeploymentMessage]) -> None:
        if self._closed or self._attempts.get(att.invocation_id) is not att:
            return
        if not att.running or att.number != number:
            return
        if self._env.rng.random() < self._env.links.lost:
            self._fail(att, "lost the link to the deployment (an effect was lost)")
            return
        att.last_activity = self._clock.monotonic()
        effect = rec.InvokerEffect(invocation_id=att.invocation_id, attempt=number)
        effect.deployment_id = services.DEPLOYMENT_ID
        suspended = False
        for msg in batch:
            kind = msg.WhichOneof("kind")
            if kind == "command":
                effect.commands.append(msg.command)
            elif kind == "suspend":
                effect.suspension.waiting_on.extend(msg.suspend.waiting_on)
                effect.suspension.SetInParent()
                suspended = True
                att.running = False
            elif kind == "end":
                att.running = False
            elif kind == "error":
                self._fail(att, msg.error.message)
        if effect.commands or suspended:
            self._propose(att, effect)

    # ------------------------------------------------------------------ internals

    def _propose(self, att: _Attempt, effect: rec.InvokerEffect) -> None:
        self._log.next_tag = f"{self._name}/{att.number}"
        fut = asyncio.ensure_future(self._proposer.propose(rec.Envelope(invoker_effect=effect)))
        att.pending.append(fut)
        fut.add_done_callback(functools.partial(self._effect_done, att, att.number))

    def _effect_done(self, att: _Attempt, number: int, fut: asyncio.Future[int]) -> None:
        att.pending.remove(fut)
        if fut.cancelled():
            return
        if fut.exception() is None:
            att.last_lsn = max(att.last_lsn, fut.result())
            return
        # Also when the attempt already ended (it sent its output, or suspended, in a later
        # batch): those later effects were dropped for the gap, so nothing else would run the
        # invocation again (node.invoker does the same).
        current = self._attempts.get(att.invocation_id) is att and att.number == number
        if current and att.retry is None and not att.restarting:
            self._fail(att, f"could not journal its effects: {fut.exception()}")

    def _send(self, invocation_id: str, fill: Callable[[pb.ServerMessage], None]) -> None:
        att = self._attempts.get(invocation_id)
        if att is None or not att.running or att.down is None:
            return
        if self._env.rng.random() < self._env.links.lost:
            self._fail(att, "lost the link to the deployment (a server message was lost)")
            return
        msg = pb.ServerMessage(invocation_id=invocation_id, attempt=att.number)
        fill(msg)
        att.down.send(msg)

    def _fail(self, att: _Attempt, reason: str) -> None:
        self._trace(f"fail {att.invocation_id} #{att.number}: {reason}")
        self._stop(att)
        delay = self._env.rng.uniform(0.01, self._env.links.max_retry_s)
        att.retry = self._clock.call_later(delay, functools.partial(self._retry, att))

    def _stop(self, att: _Attempt) -> None:
        att.running = False
        for link in (att.up, att.down):
            if link is not None:
                link.close()
        att.up = att.down = None
        att.ctx = None
        if att.task is not None and not att.task.done():
            att.task.cancel()
        att.task = None

    def _retry(self, att: _Attempt) -> None:
        att.retry = None
        if self._closed or self._attempts.get(att.invocation_id) is not att or att.restarting:
            return
        att.restarting = True
        self._spawn(self._retry_after_barrier(att), "retry-after-barrier")

    async def _retry_after_barrier(self, att: _Attempt) -> None:
        """Start from the store's journal only once it holds every effect of the earlier
        attempts that will ever count: settle them, append a barrier for the next attempt
        number and wait until it is applied (node.invoker)."""
        if att.pending:
            await asyncio.wait(list(att.pending))
        self._numbers += 1
        att.next_number = self._numbers
        barrier = rec.InvokerEffect(invocation_id=att.invocation_id, attempt=att.next_number)
        self._log.next_tag = f"{self._name}/barrier"
        try:
            lsn = await self._proposer.propose(rec.Envelope(invoker_effect=barrier))
        except LogError:
            att.restarting = False
            if not self._closed and self._attempts.get(att.invocation_id) is att:
                att.retry = self._clock.call_later(0.5, functools.partial(self._retry, att))
            return
        while (self._store.applied_lsn() or 0) < max(lsn, att.last_lsn):
            await self._clock.sleep(APPLIED_POLL_S)
        att.restarting = False
        if not self._closed and self._attempts.get(att.invocation_id) is att:
            self.invoke(att.invocation_id)

    def _spawn(self, coro: Coroutine[Any, Any, None], name: str) -> asyncio.Task[None] | None:
        if self._closed:
            coro.close()
            return None
        try:
            return self._tasks.create_task(coro, name=name)
        except RuntimeError:  # the leader unit is stopping
            coro.close()
            return None

    def _now(self) -> float:
        return asyncio.get_running_loop().time()

    def _trace(self, what: str) -> None:
        self._env.trace.event(self._now(), f"{self._name} {what}")


def factory(env: Environment, name: str, log: GroupLog) -> Callable[..., SimInvoker]:
    """A node.leader.InvokerFactory making `SimInvoker`s named `name`.<leadership>."""
    leaderships = 0

    def make(
        store: Store,
        proposer: Proposer,
        schema: Schema,
        options: invoker_mod.Options,
        *,
        tasks: asyncio.TaskGroup,
        clock: Clock,
    ) -> SimInvoker:
        nonlocal leaderships
        leaderships += 1
        return SimInvoker(store, proposer, schema, tasks, clock, env, f"{name}.{leaderships}", log)

    return make
