"""The invoker: runs attempts of invocations on service deployments.

Theory of operation
-------------------
The leader asks the invoker to `invoke(id)` (an `Invoke` action). The invoker reads the
invocation, its durable journal and (for keyed handlers) its state from the store and sends a
`Start` on one of a few long-lived gRPC streams to the pinned deployment; many invocations share
a stream and all messages produced in one loop turn travel as one batch (node.streams).

What the deployment sends back is proposed to the log as one `InvokerEffect` per invocation per
received batch; the partition applies it and answers with `Ack` (commands durable: forwarded to
the deployment) or `Ended` (the invocation completed: forget it).

An attempt fails on an `AttemptError`, a protocol violation or a lost stream. The invocation is
then retried with a new attempt, after the retry policy's delay and only once every effect the
failed attempt proposed has been applied, so the next `Start` carries the whole journal. When
the attempts are exhausted the invocation is paused (or killed, if its policy says so).

A deployment that dies or restarts makes its connection unreachable (node.streams). The attempts
on the broken stream fail and count, as in Restate, where a failed connection is a failed attempt;
their invocations also wait for the deployment, and the moment it accepts connections again they
are restarted, without waiting out their retry delays. Meanwhile their retries come due on the
policy as before, and each one that finds the deployment still unreachable counts as a failed
attempt without touching the network: the budget is spent as Restate's invoker would spend it
(one attempt per retry delay), and an invocation pinned to a deployment that never comes back is
still paused. An early restart that is lost again before the deployment sent a command for it
may be what kills the deployment: that invocation goes back to its plain retry delays.

The invoker lives as long as one leadership of its partition: the leader unit (node.leader)
creates it inside its task group, which owns every task the invoker starts (streams, retries
after pending effects, the watchdog); `close` ends its streams when leadership ends.
"""

from __future__ import annotations

import asyncio
import functools
import logging
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from typing import Any

from log.api import Error as LogError
from node import logs, metrics
from node.attempts import AttemptInfo
from node.clock import SYSTEM, Cancellable, Clock
from node.proposer import Proposer
from node.retry import RetryPolicy, policy_for
from node.streams import Connection, Stream
from partition import ids, tables
from partition.schema import Schema
from partition.store import Store
from perdure_proto import protocol_pb2 as pb
from perdure_proto import records_pb2 as rec
from perdure_proto import storage_pb2 as st

log = logging.getLogger(__name__)

LOST_STREAM = "lost the connection to the deployment"
UNREACHABLE = "the deployment does not accept connections; waiting for it to come back"
WATCHDOG_PERIOD_S = 1.0
APPLIED_POLL_S = 0.005
BARRIER_RETRY_S = 0.5


@dataclass(frozen=True, slots=True)
class Options:
    streams_per_deployment: int = 1  # see node.config
    default_retry: RetryPolicy = field(default_factory=RetryPolicy)
    inactivity_timeout_ms: int = 60_000
    abort_timeout_ms: int = 600_000


@dataclass(slots=True)
class Attempt:
    invocation_id: str
    number: int = 0
    failures: int = 0
    running: bool = False
    stream: Stream | None = None
    deployment_id: str = ""
    saw_output: bool = False
    pending: set[asyncio.Future[int]] = field(default_factory=set)
    next_number: int = 0  # the number a retry's barrier fenced for the next attempt
    restarting: bool = False  # a retry is settling effects / waiting for its barrier
    last_lsn: int = 0  # log position of its latest durable effect
    commands: list[pb.Command] = field(default_factory=list)
    suspension: list[int] | None = None
    retry: Cancellable | None = None
    awaits_deployment: bool = False  # restart it as soon as its deployment is reachable again
    early: bool = False  # the running attempt started on a reconnect; no command from it yet
    held_back: bool = False  # an early attempt was lost: restart only on the retry delay
    last_activity: float = 0.0  # monotonic time of the last message from the deployment
    silence_limit_s: float = 0.0  # inactivity + abort timeout of its handler
    started_at_ms: int = 0  # wall time the latest attempt started
    next_retry_ms: int = 0  # wall time its retry is due (0: none scheduled)
    last_failure: pb.Failure | None = None


class Invoker:
    def __init__(
        self,
        store: Store,
        proposer: Proposer,
        schema: Schema,
        options: Options,
        tasks: asyncio.TaskGroup,
        clock: Clock = SYSTEM,
    ) -> None:
        self._store = store
        self._proposer = proposer
        self._schema = schema
        self._options = options
        self._task_group = tasks
        self._clock = clock
        self._attempts: dict[str, Attempt] = {}
        self._connections: dict[str, Connection] = {}
        self._dirty: set[str] = set()
        self._silence_limits: dict[tuple[str, str], tuple[st.ServiceRow | None, float]] = {}
        self._closed = False
        # Attempt numbers grow over every attempt this invoker starts (not per invocation):
        # the partition's attempt fence needs a later attempt, after a suspension or a
        # restart of the invocation's bookkeeping too, to carry a higher number.
        self._numbers = 0

    def _take_number(self) -> int:
        self._numbers += 1
        return self._numbers

    # ------------------------------------------------------------------ leader actions

    def invoke(
        self, invocation_id: str, status: st.InvocationStatus | None = None, *, early: bool = False
    ) -> None:
        """Start an attempt; `status` is the invocation's current row if the caller has it;
        `early`: its deployment just became reachable again, before its retry delay ended."""
        att = self._attempts.setdefault(invocation_id, Attempt(invocation_id))
        if att.running or att.retry is not None or att.restarting or self._closed:
            return  # (a retry on its way starts it: no second attempt beside it)
        if status is None:
            status = tables.get_status(self._store, invocation_id)
        if status is None or status.phase != st.INVOKED:
            self._attempts.pop(invocation_id, None)
            return
        deployment_id = status.deployment_id or self._current_deployment(status.service)
        conn = self._connection(deployment_id)
        if conn is None:
            self._fail(att, pb.Failure(code=503, message=f"no deployment serves {status.service}"))
            return
        att.deployment_id = deployment_id
        if not conn.reachable:
            self._unreachable(att, conn)
            return
        att.number = att.next_number or self._take_number()
        att.next_number = 0
        att.running = True
        att.saw_output = False
        att.awaits_deployment = False
        att.early = early
        att.held_back = False  # (an early start is never held back)
        att.last_activity = self._clock.monotonic()
        att.started_at_ms = self._clock.now_ms()
        att.next_retry_ms = 0
        att.silence_limit_s = self._silence_limit_s(status.service, status.handler)
        att.stream = conn.stream_for(invocation_id)
        # Filled in place: passing a message to a constructor copies it (this is per attempt).
        msg = pb.ServerMessage(invocation_id=invocation_id, attempt=att.number)
        start = msg.start
        start.service = status.service
        start.handler = status.handler
        start.key = status.key
        start.input = status.input
        start.idempotency_key = status.idempotency_key
        start.random_seed = ids.random_seed(invocation_id)
        start.retry_count = att.failures
        start.cancelled = status.cancel_requested
        start.headers.extend(status.headers)
        if status.journal_length:
            start.journal.extend(tables.journal_entries(self._store, invocation_id))
        if status.service_type in (pb.VIRTUAL_OBJECT, pb.WORKFLOW):
            start.state.extend(tables.state_entries(self._store, status.service, status.key))
        metrics.INVOKER_ATTEMPTS.inc()
        att.stream.send(msg)

    def ack(self, invocation_id: str, up_to_index: int, attempt: int = 0) -> None:
        att = self._attempts.get(invocation_id)
        if attempt and att is not None and att.number != attempt:
            return  # another attempt's command: this one's own are not durable by it
        if att is not None and att.running and att.stream is not None:
            att.stream.send(
                pb.ServerMessage(
                    invocation_id=invocation_id,
                    attempt=att.number,
                    ack=pb.Ack(up_to_index=up_to_index),
                )
            )

    def completion(
        self, invocation_id: str, index: int, result: pb.Result, callee_invocation_id: str
    ) -> None:
        self._send_to_attempt(
            invocation_id,
            lambda m: m.completion.CopyFrom(
                pb.Completion(index=index, result=result, invocation_id=callee_invocation_id)
            ),
        )

    def cancel(self, invocation_id: str) -> None:
        self._send_to_attempt(invocation_id, lambda m: m.cancel.SetInParent())

    def _send_to_attempt(
        self, invocation_id: str, fill: Callable[[pb.ServerMessage], None]
    ) -> None:
        att = self._attempts.get(invocation_id)
        if att is not None and att.running and att.stream is not None:
            msg = pb.ServerMessage(invocation_id=invocation_id, attempt=att.number)
            fill(msg)
            att.stream.send(msg)

    def ended(self, invocation_id: str, abort: bool = False) -> None:
        att = self._attempts.pop(invocation_id, None)
        if att is None:
            return
        if att.retry is not None:
            att.retry.cancel()
        if abort and att.running and att.stream is not None:
            att.stream.send(
                pb.ServerMessage(
                    invocation_id=invocation_id, attempt=att.number, abort=pb.Abort(reason="ended")
                )
            )

    def in_flight(self) -> int:
        return sum(1 for a in self._attempts.values() if a.running)

    def attempts(self) -> list[AttemptInfo]:
        """A copy of what this invoker knows of each invocation it runs or retries."""
        out = []
        for att in self._attempts.values():
            failure = att.last_failure
            out.append(
                AttemptInfo(
                    invocation_id=att.invocation_id,
                    in_flight=att.running,
                    attempts=att.failures + (1 if att.running else 0),
                    deployment_id=att.deployment_id,
                    last_start_ms=att.started_at_ms,
                    next_retry_ms=att.next_retry_ms if att.retry is not None else 0,
                    last_failure_code=failure.code if failure is not None else 0,
                    last_failure=failure.message if failure is not None else "",
                )
            )
        return out

    async def close(self) -> None:
        self._closed = True
        for att in self._attempts.values():
            if att.retry is not None:
                att.retry.cancel()
        for conn in self._connections.values():
            await conn.close()
        self._connections.clear()

    # ------------------------------------------------------------------ from the streams

    def on_batch(self, stream: Stream, batch: pb.DeploymentBatch) -> None:
        now = self._clock.monotonic()
        for msg in batch.messages:
            att = self._attempts.get(msg.invocation_id)
            if att is None or not att.running or msg.attempt != att.number:
                continue  # a superseded attempt, or an invocation that already ended
            att.last_activity = now
            kind = msg.WhichOneof("kind")
            if kind == "command":
                att.early = False
                att.commands.append(msg.command)
                self._dirty.add(att.invocation_id)
                if msg.command.entry.WhichOneof("command") == "output":
                    att.saw_output = True
            elif kind == "end":
                att.running = False
                if not att.saw_output:
                    self._fail(
                        att, pb.Failure(code=571, message="the attempt ended without output")
                    )
            elif kind == "error":
                err = msg.error
                message = err.message
                if err.HasField("related_index"):
                    message += f" (journal index {err.related_index} {err.related_name!r})".replace(
                        " ''", ""
                    )
                delay = err.retry_after_ms if err.HasField("retry_after_ms") else None
                self._fail(att, pb.Failure(code=err.code or 500, message=message), delay)
            elif kind == "suspend":
                att.running = False
                att.suspension = list(msg.suspend.waiting_on)
                self._dirty.add(att.invocation_id)
        self._propose_effects()

    def on_stream_lost(self, stream: Stream) -> None:
        for att in list(self._attempts.values()):
            if att.running and att.stream is stream:
                # Whether its deployment died shows a moment later, when reconnecting fails
                # (node.streams); if it did not, the retry delay restarts the invocation.
                att.held_back = att.held_back or att.early
                att.awaits_deployment = not att.held_back
                self._fail(att, pb.Failure(code=503, message=LOST_STREAM))
        self._propose_effects()

    def on_reachable(self, conn: Connection) -> None:
        """Restart now what waits for `conn`'s deployment, rather than after its retry delay."""
        for att in list(self._attempts.values()):
            if (
                att.awaits_deployment
                and att.retry is not None
                and att.deployment_id == conn.deployment_id
            ):
                att.awaits_deployment = False
                att.retry.cancel()
                self._retry(att, early=True)

    # ------------------------------------------------------------------ internals

    def _propose_effects(self) -> None:
        for invocation_id in self._dirty:
            att = self._attempts.get(invocation_id)
            if att is None or not (att.commands or att.suspension is not None):
                continue
            envelope = rec.Envelope()  # filled in place: constructors copy submessages
            effect = envelope.invoker_effect
            effect.invocation_id = invocation_id
            effect.attempt = att.number
            effect.deployment_id = att.deployment_id
            effect.commands.extend(att.commands)
            metrics.JOURNAL_ENTRIES.inc(len(att.commands))
            att.commands = []
            if att.suspension is not None:
                effect.suspension.waiting_on.extend(att.suspension)
                effect.suspension.SetInParent()
                att.suspension = None
            fut = asyncio.ensure_future(self._proposer.propose(envelope))
            att.pending.add(fut)
            fut.add_done_callback(functools.partial(self._effect_done, att))
        self._dirty.clear()

    def _effect_done(self, att: Attempt, fut: asyncio.Future[int]) -> None:
        att.pending.discard(fut)
        if fut.cancelled():
            return
        exc = fut.exception()
        if exc is None:
            att.last_lsn = max(att.last_lsn, fut.result())
            return
        # The partition drops every later effect of this attempt (their indexes no longer
        # follow), so the invocation needs a new attempt even if this one already ended or
        # suspended; unless a retry is on its way already.
        current = self._attempts.get(att.invocation_id) is att
        idle = att.retry is None and not att.awaits_deployment and not att.restarting
        if current and (att.running or idle):
            log.warning(
                "invocation %s: could not journal its effects: %s",
                att.invocation_id,
                exc,
                extra=self._context(att.invocation_id),
            )
            reason = str(exc) if isinstance(exc, LogError) else repr(exc)
            self._fail(att, pb.Failure(code=503, message=f"log append failed: {reason}"))

    def _fail(self, att: Attempt, failure: pb.Failure, retry_after_ms: int | None = None) -> None:
        if att.running and att.stream is not None:
            att.stream.send(
                pb.ServerMessage(
                    invocation_id=att.invocation_id,
                    attempt=att.number,
                    abort=pb.Abort(reason=failure.message),
                )
            )
        att.running = False
        att.failures += 1
        att.last_failure = failure
        metrics.INVOKER_FAILURES.inc()
        policy = self._policy(att.invocation_id)
        log.info(
            "invocation %s attempt %d failed (%d/%d): [%d] %s",
            att.invocation_id,
            att.number,
            att.failures,
            policy.max_attempts,
            failure.code,
            failure.message,
            extra=self._context(att.invocation_id),
        )
        if att.failures >= policy.max_attempts:
            self._give_up(att, failure, policy)
            return
        delay_ms = retry_after_ms if retry_after_ms is not None else policy.delay_ms(att.failures)
        metrics.INVOKER_RETRIES.inc()
        att.next_retry_ms = self._clock.now_ms() + delay_ms
        att.retry = self._clock.call_later(delay_ms / 1000, functools.partial(self._retry, att))

    def _unreachable(self, att: Attempt, conn: Connection) -> None:
        """An attempt is due while its deployment is unreachable: it fails as its connection
        would, without trying, and the invocation waits for the deployment (module docstring)."""
        att.number = att.next_number or self._take_number()
        att.next_number = 0
        metrics.INVOKER_ATTEMPTS.inc()
        att.awaits_deployment = not att.held_back
        self._fail(att, pb.Failure(code=503, message=f"{UNREACHABLE} ({conn.uri})"))

    def _retry(self, att: Attempt, early: bool = False) -> None:
        att.retry = None
        if self._attempts.get(att.invocation_id) is not att or att.restarting:
            return
        att.restarting = True
        self._spawn(self._retry_after_barrier(att, early), f"retry-{att.invocation_id}")

    async def _retry_after_barrier(self, att: Attempt, early: bool) -> None:
        """A new attempt starts from the store's journal, which must hold every effect of the
        earlier attempts that will ever count. An effect whose append failed may still be
        committed later (an unknown outcome), so settling the pending ones is not enough: the
        retry first appends a barrier (an effect with no commands, for the new attempt number;
        partition/on_invoker_effect.py) and waits until it is applied. Effects of older
        attempts ordered before it are applied by then; those after it are void."""
        if att.pending:
            await asyncio.wait(list(att.pending))
        barrier = rec.Envelope()
        effect = barrier.invoker_effect
        effect.invocation_id = att.invocation_id
        effect.attempt = att.next_number = self._take_number()
        try:
            lsn = await self._proposer.propose(barrier)
        except LogError as exc:
            att.restarting = False
            if self._attempts.get(att.invocation_id) is att and not self._closed:
                log.warning(
                    "invocation %s: retry barrier failed (%s)",
                    att.invocation_id,
                    exc,
                    extra=self._context(att.invocation_id),
                )
                att.retry = self._clock.call_later(
                    BARRIER_RETRY_S, functools.partial(self._retry, att, early)
                )
            return
        try:
            await self._wait_applied(max(lsn, att.last_lsn))
        finally:
            att.restarting = False
        if self._attempts.get(att.invocation_id) is att:
            self.invoke(att.invocation_id, early=early)

    async def _wait_applied(self, lsn: int) -> None:
        # Polled: a retry comes after its delay (500 ms at first), by when the effects are
        # nearly always applied, so this rarely loops.
        while (self._store.applied_lsn() or 0) < lsn:
            await self._clock.sleep(APPLIED_POLL_S)

    def _give_up(self, att: Attempt, failure: pb.Failure, policy: RetryPolicy) -> None:
        self._attempts.pop(att.invocation_id, None)
        if policy.on_max_attempts == "kill":
            status = tables.get_status(self._store, att.invocation_id)
            if status is None:
                return
            effect = rec.InvokerEffect(invocation_id=att.invocation_id, attempt=att.number)
            command = effect.commands.add(index=status.journal_length + 1)
            command.entry.output.result.failure.CopyFrom(failure)
            envelope = rec.Envelope(invoker_effect=effect)
        else:
            metrics.INVOKER_PAUSES.inc()
            log.warning(
                "invocation %s paused after %d attempts: [%d] %s",
                att.invocation_id,
                att.failures,
                failure.code,
                failure.message,
                extra=self._context(att.invocation_id),
            )
            envelope = rec.Envelope(
                pause_invocation=rec.PauseInvocation(
                    invocation_id=att.invocation_id, last_failure=failure
                )
            )
        self._spawn(self._propose_quietly(envelope), f"give-up-{att.invocation_id}")

    def _spawn(self, coro: Coroutine[Any, Any, None], name: str) -> None:
        if self._closed:
            coro.close()
            return
        self._task_group.create_task(coro, name=name)

    async def _propose_quietly(self, envelope: rec.Envelope) -> None:
        try:
            await self._proposer.propose(envelope)
        except LogError as exc:
            log.error("could not record the end of retries: %s", exc)

    def _context(self, invocation_id: str) -> dict[str, Any]:
        """A log line's invocation fields (node/logs.py)."""
        status = tables.get_status(self._store, invocation_id)
        if status is None:
            return logs.invocation(invocation_id)
        return logs.invocation(invocation_id, status.service, status.handler)

    def _policy(self, invocation_id: str) -> RetryPolicy:
        status = tables.get_status(self._store, invocation_id)
        if status is None:
            return self._options.default_retry
        return policy_for(self._schema, status.service, status.handler, self._options.default_retry)

    async def watchdog(self) -> None:
        """Abort attempts silent for longer than their timeouts, until cancelled."""
        while True:
            await self._clock.sleep(WATCHDOG_PERIOD_S)
            metrics.INVOCATIONS_IN_FLIGHT.set(self.in_flight())
            now = self._clock.monotonic()
            for att in list(self._attempts.values()):
                if att.running and now - att.last_activity > att.silence_limit_s:
                    limit = att.silence_limit_s
                    self._fail(
                        att,
                        pb.Failure(
                            code=409,
                            message=f"the attempt sent nothing for {limit:.0f} s (inactivity "
                            "plus abort timeout); aborted to retry",
                        ),
                    )
            self._propose_effects()

    def _silence_limit_s(self, service: str, handler: str) -> float:
        # Computed once per (service, handler) while the service row stays the same object
        # (a registration replaces rows, never edits them): this runs for every attempt.
        row = self._schema.services.get(service)
        cached = self._silence_limits.get((service, handler))
        if cached is not None and cached[0] is row:
            return cached[1]
        limit = self._compute_silence_limit_s(service, handler)
        self._silence_limits[(service, handler)] = (row, limit)
        return limit

    def _compute_silence_limit_s(self, service: str, handler: str) -> float:
        inactivity = self._schema.option(service, handler, "inactivity_timeout_ms")
        abort = self._schema.option(service, handler, "abort_timeout_ms")
        if inactivity is None:
            inactivity = self._options.inactivity_timeout_ms
        if abort is None:
            abort = self._options.abort_timeout_ms
        return (inactivity + abort) / 1000

    def _current_deployment(self, service: str) -> str:
        row = self._schema.services.get(service)
        return row.deployment_id if row is not None else ""

    def _connection(self, deployment_id: str) -> Connection | None:
        conn = self._connections.get(deployment_id)
        if conn is not None:
            return conn
        row = self._schema.deployments.get(deployment_id)
        if row is None:
            return None
        headers = [(h.key, h.value) for h in row.additional_headers]
        conn = Connection(
            deployment_id,
            row.uri,
            headers,
            self._options.streams_per_deployment,
            self,
            self._task_group,
        )
        self._connections[deployment_id] = conn
        return conn
