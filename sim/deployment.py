"""The simulated deployment: a few handlers and a small SDK that runs them the way the real one
does, as seen by the server.

Theory of operation
-------------------
An attempt gets the `Start` (journal and eager state) and runs its handler from the top. Every
operation takes the next journal index: covered by the journal, it is replayed (the recorded
command must be the one the handler would make now, else the run records a journal mismatch);
past it, it becomes a new command for the invoker. A `run` step executes its side effect (counted
here, outside the system: `Execution`), sends its `Run` command and lets the handler see the
result only once the server acknowledged it. A call's result comes from the journal or from a
`Completion`; while it is missing, the attempt either waits or (the SDK's eager suspension)
suspends. A pending cancellation is observed at the next await: a `Cancelled` marker is
journaled there, and the handler ends with a 409 failure (a replay raises at the same place).

The deployment is the only place with handler code; sim/invoker.py carries messages between it
and the partition. Faults from the seed: an attempt may crash at any step (an `AttemptError`),
and every step takes a random time.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from perdure_proto import protocol_pb2 as pb

Send = Callable[[list[pb.DeploymentMessage]], None]
CANCELLED = pb.Failure(code=409, message="cancelled")


class Stopped(BaseException):
    """The attempt ended early (it suspended, failed or was cancelled): no more commands."""


class Terminal(Exception):
    """A terminal failure that ends the invocation (here only: it was cancelled)."""

    def __init__(self, failure: pb.Failure) -> None:
        super().__init__(failure.message)
        self.failure = failure


@dataclass(slots=True)
class Execution:
    """One execution of a `run` step's side effect."""

    invocation_id: str
    index: int
    token: str
    invoker: str  # which leadership's invoker started the attempt
    attempt: int
    started_at: float  # when that attempt's `Start` was built


@dataclass(slots=True)
class Behaviour:
    crash: float = 0.0  # per step: the attempt fails with an AttemptError
    suspend: float = 0.5  # waiting for a call: suspend rather than wait
    max_patience_s: float = 0.0  # how long to wait before suspending
    max_step_s: float = 0.01


@dataclass(slots=True)
class Observed:
    """What the outside world saw: side effects, and what went wrong."""

    executions: list[Execution] = field(default_factory=list)
    violations: list[str] = field(default_factory=list)


class Context:
    """One attempt's view of its invocation (the SDK's `ctx`)."""

    def __init__(
        self,
        invocation_id: str,
        start: pb.Start,
        send: Send,
        rng: random.Random,
        behaviour: Behaviour,
        attempt: Execution,
        observed: Observed,
        now_ms: Callable[[], int],
    ) -> None:
        """`attempt` describes this attempt (index 0): each side effect is recorded as a copy
        with its step's index."""
        self.invocation_id = invocation_id
        self.start = start
        self.key = start.key
        self._journal = list(start.journal)
        self._state = {e.key: e.value for e in start.state}
        self._send = send
        self._rng = rng
        self._behaviour = behaviour
        self._attempt = attempt
        self._observed = observed
        self._now_ms = now_ms
        self._index = 0
        self._acked = 0
        self._results: dict[int, pb.Result] = {}
        self._outbox: list[pb.DeploymentMessage] = []
        self._changed = asyncio.Event()
        observed_cancel = any(e.WhichOneof("command") == "cancelled" for e in self._journal)
        self._cancel = start.cancelled and not observed_cancel

    # ------------------------------------------------------------------ server messages

    def on_message(self, msg: pb.ServerMessage) -> None:
        kind = msg.WhichOneof("kind")
        if kind == "ack":
            self._acked = max(self._acked, msg.ack.up_to_index)
        elif kind == "completion" and msg.completion.result.WhichOneof("result"):
            self._results[msg.completion.index] = msg.completion.result
        elif kind == "cancel":
            self._cancel = True
        self._changed.set()

    # ------------------------------------------------------------------ operations

    async def get_state(self, name: str) -> bytes | None:
        entry = pb.JournalEntry(get_state=pb.GetState(key=name))
        recorded = await self._take(entry, compare=False)
        if recorded is not None:
            gs = recorded.get_state
            self._check(gs.key == name, recorded, entry)
            return gs.value if gs.HasField("value") else None
        value = self._state.get(name)
        if value is not None:
            entry.get_state.value = value
        self._command(entry)
        return value

    async def set_state(self, name: str, value: bytes) -> None:
        entry = pb.JournalEntry(set_state=pb.SetState(key=name, value=value))
        if await self._take(entry) is None:
            self._state[name] = value
            self._command(entry)

    async def send(self, service: str, handler: str, key: str, arg: bytes, delay_ms: int) -> None:
        entry = pb.JournalEntry(send=pb.Send(service=service, handler=handler, key=key))
        entry.send.argument = arg
        recorded = await self._take(entry, compare=False)
        if recorded is not None:
            self._check(recorded.send.key == key and recorded.send.argument == arg, recorded)
            return
        if delay_ms:
            entry.send.invoke_time_ms = self._now_ms() + delay_ms
        self._command(entry)

    async def call(self, service: str, handler: str, key: str, arg: bytes) -> pb.Result:
        entry = pb.JournalEntry(call=pb.Call(service=service, handler=handler, key=key))
        entry.call.argument = arg
        recorded = await self._take(entry)
        index = self._index
        if recorded is None:
            self._command(entry)
        elif recorded.completion.WhichOneof("result"):
            self._results[index] = recorded.completion
        # Suspend (after waiting a while, maybe not at all), or wait for the completion.
        loop = asyncio.get_running_loop()
        patience = self._rng.uniform(0, self._behaviour.max_patience_s)
        deadline = loop.time() + patience if self._rng.random() < self._behaviour.suspend else None
        while True:
            self._observe_cancel()
            if index in self._results:
                return self._results[index]
            if deadline is not None and loop.time() >= deadline:
                self._message(suspend=pb.Suspend(waiting_on=[index]))
                self._flush()
                raise Stopped("suspended")
            await self._wait(None if deadline is None else deadline - loop.time())

    async def run(self) -> str:
        """A step whose side effect happens outside the system: it returns a token naming this
        execution of it."""
        recorded = await self._take(pb.JournalEntry(run=pb.Run()), compare=False)
        if recorded is not None:
            return recorded.run.result.value.decode()
        index = self._index
        token = f"x{len(self._observed.executions) + 1}"
        a = self._attempt
        self._observed.executions.append(
            Execution(a.invocation_id, index, token, a.invoker, a.attempt, a.started_at)
        )
        self._command(pb.JournalEntry(run=pb.Run(result=pb.Result(value=token.encode()))))
        while self._acked < index:
            await self._wait()
        return token

    # ------------------------------------------------------------------ the attempt's end

    def output(self, result: pb.Result) -> None:
        entry = pb.JournalEntry(output=pb.Output(result=result))
        self._index += 1
        if self._index <= len(self._journal):
            self._check(self._journal[self._index - 1].WhichOneof("command") == "output", entry)
        self._outbox.append(
            pb.DeploymentMessage(command=pb.Command(index=self._index, entry=entry))
        )
        self._message(end=pb.End())
        self._flush()

    def fail(self, message: str) -> None:
        self._message(error=pb.AttemptError(code=500, message=message))
        self._flush()

    # ------------------------------------------------------------------ internals

    async def _take(self, entry: pb.JournalEntry, compare: bool = True) -> pb.JournalEntry | None:
        await self._step()
        self._index += 1
        if self._index > len(self._journal):
            return None
        recorded = self._journal[self._index - 1]
        if recorded.WhichOneof("command") != entry.WhichOneof("command"):
            self._mismatch(recorded, entry)
        if compare:
            bare = pb.JournalEntry()
            bare.CopyFrom(recorded)
            bare.ClearField("completion")
            bare.ClearField("completion_invocation_id")
            self._check(bare == entry, recorded, entry)
        return recorded

    def _check(
        self, ok: bool, recorded: pb.JournalEntry, entry: pb.JournalEntry | None = None
    ) -> None:
        if not ok:
            self._mismatch(recorded, entry or recorded)

    def _mismatch(self, recorded: pb.JournalEntry, entry: pb.JournalEntry) -> None:
        self._observed.violations.append(
            f"journal mismatch: {self.invocation_id} index {self._index}: the journal has "
            f"{recorded.WhichOneof('command')} {recorded} where the handler made "
            f"{entry.WhichOneof('command')} {entry}"
        )
        self.fail("journal mismatch")
        raise Stopped("journal mismatch")

    def _observe_cancel(self) -> None:
        nxt = self._index + 1
        if nxt <= len(self._journal):
            if self._journal[nxt - 1].WhichOneof("command") == "cancelled":
                self._index = nxt
                raise Terminal(CANCELLED)
            return
        if self._cancel:
            self._cancel = False
            self._index = nxt
            self._command(pb.JournalEntry(cancelled=pb.Cancelled()))
            raise Terminal(CANCELLED)

    async def _step(self) -> None:
        """Time passes between operations; the deployment may crash here."""
        self._flush()
        await asyncio.sleep(self._rng.uniform(0, self._behaviour.max_step_s))
        if self._rng.random() < self._behaviour.crash:
            self.fail("simulated: the deployment crashed")
            raise Stopped("crashed")

    async def _wait(self, timeout: float | None = None) -> None:
        """Until a server message arrives (or `timeout` passes)."""
        self._flush()
        self._changed.clear()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._changed.wait(), timeout)

    def _command(self, entry: pb.JournalEntry) -> None:
        self._outbox.append(
            pb.DeploymentMessage(command=pb.Command(index=self._index, entry=entry))
        )

    def _message(self, **kind: object) -> None:
        self._outbox.append(pb.DeploymentMessage(**kind))  # type: ignore[arg-type]

    def _flush(self) -> None:
        if self._outbox:
            out, self._outbox = self._outbox, []
            self._send(out)


Handler = Callable[[Context, bytes], Awaitable[pb.Result]]


async def run_attempt(ctx: Context, handler: Handler, arg: bytes) -> None:
    """Run `handler` to its output (or until the attempt stops)."""
    try:
        result = await handler(ctx, arg)
    except Terminal as terminal:
        result = pb.Result(failure=terminal.failure)
    except Stopped:
        return
    ctx.output(result)
