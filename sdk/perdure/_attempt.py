"""The async shell around one ``AttemptMachine``: runs the handler task and ``ctx.run`` actions.

The runner owns the handler task and the tasks of new ``run`` actions, turns waits on durable
futures into asyncio waits on machine handles (``_waiting.Waits``: suspension, cancellation,
always-replay), and tells its stream (the ``Outlet``) whenever the machine may have something to
send.
"""

from __future__ import annotations

import asyncio
import contextvars
import functools
import inspect
import json
import time
import traceback
from collections.abc import Callable, Sequence
from contextlib import AsyncExitStack
from typing import Any, Protocol

from perdure._context_types import AttemptFinishedEvent
from perdure._machine import AttemptMachine, Closed, Handle
from perdure._run_retry import RunRetryPolicy
from perdure._waiting import Waits
from perdure.entry_codec import JournalValueCodec
from perdure.exceptions import (
    AttemptStopped,
    RetryableError,
    SdkInternalBaseException,
    TerminalError,
    find_terminal_error,
)
from perdure.extensions import set_current_context
from perdure.handler import Handler
from perdure_proto import protocol_pb2 as pb

__all__ = ["AttemptRunner", "Clock", "Outlet", "SystemClock", "failure_of"]


class Outlet(Protocol):
    """Where a runner reports that its machine may have messages to send."""

    def changed(self, runner: AttemptRunner) -> None: ...


class Clock(Protocol):
    """Time source of the shell (injected so tests need not sleep)."""

    def monotonic(self) -> float: ...

    def now_ms(self) -> int: ...

    async def sleep(self, seconds: float) -> None: ...


class SystemClock:
    """The real clock."""

    def monotonic(self) -> float:
        return time.monotonic()

    def now_ms(self) -> int:
        return int(time.time() * 1000)

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(seconds)


def failure_of(error: TerminalError) -> pb.Result:
    """The journaled form of a terminal error."""
    failure = pb.Failure(code=error.status_code, message=error.message)
    if error.metadata:
        failure.metadata.update(error.metadata)
    return pb.Result(failure=failure)


class _FinishedEvent(AttemptFinishedEvent):
    """``AttemptFinishedEvent`` backed by an asyncio event."""

    def __init__(self) -> None:
        self._event = asyncio.Event()

    def is_set(self) -> bool:
        return self._event.is_set()

    async def wait(self) -> None:
        await self._event.wait()

    def set(self) -> None:
        self._event.set()


class AttemptRunner:
    """Runs one attempt of one invocation."""

    def __init__(
        self,
        machine: AttemptMachine,
        handler: Handler | None,
        outlet: Outlet,
        codec: JournalValueCodec | None = None,
        clock: Clock | None = None,
        always_replay: bool = False,
    ) -> None:
        self.machine = machine
        self.handler = handler
        self.codec = codec
        self.clock: Clock = clock or SystemClock()
        self.finished_event = _FinishedEvent()
        self.waits = Waits(machine, always_replay, self.changed)
        self._outlet = outlet
        self._task: asyncio.Task[None] | None = None
        self._run_tasks: set[asyncio.Task[None]] = set()

    @property
    def attempt(self) -> int:
        return self.machine.attempt

    # ------------------------------------------------------------------ lifecycle

    def start(self) -> None:
        name = f"perdure-invocation-{self.machine.invocation_id}-{self.machine.attempt}"
        self._task = asyncio.get_running_loop().create_task(self._main(), name=name)

    def abort(self) -> None:
        """Stop now and send nothing more (server Abort, newer attempt, stream closed)."""
        self.machine.abort()
        self._closed()

    def on_message(self, message: pb.ServerMessage) -> None:
        kind = message.WhichOneof("kind")
        if kind == "ack":
            self.machine.on_ack(message.ack.up_to_index)
        elif kind == "completion":
            c = message.completion
            self.machine.on_completion(
                c.index, c.result if c.HasField("result") else None, c.invocation_id
            )
        elif kind == "cancel":
            self.machine.on_cancel()
        elif kind == "abort":
            self.abort()
            return
        self.waits.wake()

    def changed(self) -> None:
        """The machine may have new output or new completed handles."""
        if self.machine.closed is not None:
            self._closed()
        else:
            self.waits.wake()
        self._outlet.changed(self)

    async def _main(self) -> None:
        from perdure._server_context import ServerInvocationContext

        ctx = ServerInvocationContext(self)
        set_current_context(ctx)
        try:
            if self.handler is not None and self.handler.context_managers:
                async with AsyncExitStack() as stack:
                    for factory in self.handler.context_managers:
                        await stack.enter_async_context(factory())
                    result = await self._invoke(ctx)
            else:  # the common case; an empty exit stack costs ~0.6 us per attempt
                result = await self._invoke(ctx)
            self._output(result)
        except asyncio.CancelledError:
            if self.machine.closed is None:
                raise
        except SdkInternalBaseException:
            pass
        except Exception as e:
            terminal = find_terminal_error(e)
            if terminal is not None:
                self._finish(failure_of(terminal))
            else:
                self._fail(e)
        finally:
            self.changed()

    async def _invoke(self, ctx: Any) -> pb.Result:
        handler = self.handler
        if handler is None:
            start = self.machine.start
            self.machine.fail(404, f"{start.service}/{start.handler} is not in this deployment")
            raise AttemptStopped("unknown handler")
        if handler.arity < 2:
            value = await handler.fn(ctx)
        else:
            try:
                raw = await self.decode(self.machine.start.input)
                arg = handler.io.input_serde.deserialize(raw)
                if arg is None and not handler.io.input_optional:
                    raise TypeError("the handler requires an input, but the request has none")
            except Exception as e:
                # Bad input never gets better by retrying: end the invocation at once, 400.
                raise TerminalError(f"Unable to parse an input argument. {e}", 400) from e
            value = await handler.fn(ctx, arg)
        data = handler.io.output_serde.serialize(value)
        return pb.Result(value=self.encode(data)) if data else pb.Result(void=pb.Void())

    def _output(self, result: pb.Result) -> None:
        self._finish(result)

    def _finish(self, result: pb.Result) -> None:
        try:
            self.machine.output(result)
        except AttemptStopped:
            pass

    def _fail(self, e: BaseException, related_index: int | None = None, name: str = "") -> None:
        retry_after_ms = None
        code = 500
        if isinstance(e, RetryableError):
            code = e.status_code
            if e.retry_after is not None:
                retry_after_ms = int(e.retry_after.total_seconds() * 1000)
        self.machine.fail(
            code,
            repr(e),
            "".join(traceback.format_exception(e)),
            retry_after_ms=retry_after_ms,
            related_index=related_index,
            related_name=name,
        )

    def _closed(self) -> None:
        self.finished_event.set()
        self.waits.close()
        for run_task in list(self._run_tasks):
            run_task.cancel()
        task = self._task
        running = task is not None and not task.done() and task is not asyncio.current_task()
        if task is not None and running and self.machine.closed is not Closed.ENDED:
            task.cancel()

    # ------------------------------------------------------------------ codec

    def encode(self, data: bytes) -> bytes:
        return self.codec.encode(data) if self.codec is not None and data else data

    async def decode(self, data: bytes) -> bytes:
        if self.codec is not None and data:
            return await self.codec.decode(data)
        return data

    # ------------------------------------------------------------------ waiting

    async def wait_any(self, handles: Sequence[Handle], ready: bool = False) -> None:
        """Return once one of ``handles`` is done (see ``Waits.wait_any``)."""
        await self.waits.wait_any(handles, ready)

    async def durable_choice(self, name: str, choose: Callable[[], list[int]]) -> list[int]:
        """Journal (or replay) a combinator's choice so that replays pick the same futures.

        The protocol has no entry for completion order, so the choice travels as a ``Run``
        command named ``name`` whose value is the JSON list of chosen positions.
        """
        ticket = self.machine.run(name)
        handle = Handle(ticket.index)
        if not ticket.replayed:
            chosen = json.dumps(choose()).encode()
            self.machine.complete_run(ticket.index, pb.Result(value=chosen))
            self.changed()
        await self.wait_any([handle])
        picked: list[int] = json.loads(self.machine.result(handle).value)
        return picked

    # ------------------------------------------------------------------ ctx.run

    def start_run(
        self,
        name: str,
        action: Callable[..., Any],
        args: Sequence[Any],
        kwargs: dict[str, Any],
        policy: RunRetryPolicy | None,
        serialize: Callable[[Any], bytes],
    ) -> Handle:
        ticket = self.machine.run(name)
        if not ticket.replayed:
            coro = self._execute_run(ticket.index, name, action, args, kwargs, policy, serialize)
            task_name = f"perdure-run-{self.machine.invocation_id}-{ticket.index}"
            task = asyncio.get_running_loop().create_task(coro, name=task_name)
            self._run_tasks.add(task)
            task.add_done_callback(self._run_tasks.discard)
        return Handle(ticket.index)

    async def _execute_run(
        self,
        index: int,
        name: str,
        action: Callable[..., Any],
        args: Sequence[Any],
        kwargs: dict[str, Any],
        policy: RunRetryPolicy | None,
        serialize: Callable[[Any], bytes],
    ) -> None:
        started = self.clock.monotonic()
        tries = 0
        while True:
            tries += 1
            try:
                value = await _call_action(action, args, kwargs)
                result = pb.Result(value=self.encode(serialize(value)))
            except Exception as e:
                terminal = find_terminal_error(e)
                if terminal is not None:
                    result = failure_of(terminal)
                elif policy is None:
                    self._fail(e, related_index=index, name=name)
                    self.changed()
                    return
                else:
                    retry_after = None
                    if isinstance(e, RetryableError) and e.retry_after is not None:
                        retry_after = e.retry_after.total_seconds()
                    elapsed = self.clock.monotonic() - started
                    delay = policy.next_delay(tries, elapsed, retry_after)
                    if delay is not None:
                        await self.clock.sleep(delay)
                        continue
                    message = f"ctx.run {name!r} gave up after {tries} attempts: {e}"
                    result = failure_of(TerminalError(message, 500))
            self.machine.complete_run(index, result)
            self.changed()
            return


async def _call_action(
    action: Callable[..., Any], args: Sequence[Any], kwargs: dict[str, Any]
) -> Any:
    if inspect.iscoroutinefunction(action):
        return await action(*args, **kwargs)
    loop = asyncio.get_running_loop()
    ctx = contextvars.copy_context()
    call = functools.partial(ctx.run, action, *args, **kwargs)
    value = await loop.run_in_executor(None, call)
    if inspect.isawaitable(value):
        value = await value
    return value
