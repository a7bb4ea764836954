"""The runtime ``Context``: every context operation, translated into machine operations."""

from __future__ import annotations

import base64
import time
from collections.abc import Callable, Coroutine
from datetime import timedelta
from random import Random
from typing import Any, ParamSpec, TypeVar
from uuid import UUID

from perdure._attempt import AttemptRunner, failure_of
from perdure._calls import CallsMixin
from perdure._context_types import (
    DurablePromise,
    Request,
    RestateDurableFuture,
    RestateDurableSleepFuture,
    RunAction,
    RunOptions,
    ScopedContext,
)
from perdure._futures import (
    DurableFuture,
    DurableSleepFuture,
    ReadyFuture,
    cancel_invocation,
    not_supported,
)
from perdure._machine import Handle
from perdure._promise import ServerDurablePromise, check_workflow
from perdure._run_retry import RunRetryPolicy
from perdure.context import WorkflowContext, WorkflowSharedContext
from perdure.exceptions import TerminalError
from perdure.serde import DefaultSerde, Serde
from perdure_proto import protocol_pb2 as pb

__all__ = ["ServerInvocationContext", "awakeable_id"]

T = TypeVar("T")
I = TypeVar("I")  # noqa: E741
O = TypeVar("O")  # noqa: E741
P = ParamSpec("P")


def awakeable_id(invocation_id: str, index: int) -> str:
    """``sign_1`` + base64url(invocation id bytes + big-endian u32 journal index)."""
    raw = invocation_id.encode("utf-8") + index.to_bytes(4, "big")
    return "sign_1" + base64.urlsafe_b64encode(raw).decode("ascii").rstrip("=")


def _typed(serde: Serde[T], type_hint: type[T] | None) -> Serde[T]:
    if type_hint is not None and isinstance(serde, DefaultSerde):
        return serde.with_maybe_type(type_hint)
    return serde


class ServerInvocationContext(CallsMixin, WorkflowContext, WorkflowSharedContext):
    """One object implements every context flavour; the handler's annotation is documentation."""

    def __init__(self, runner: AttemptRunner) -> None:
        self._runner = runner
        self._machine = runner.machine

    def is_replaying(self) -> bool:
        """True while the handler re-executes journaled operations."""
        return self._machine.is_replaying

    # ------------------------------------------------------------------ request & determinism

    def request(self) -> Request:
        start = self._machine.start
        return Request(
            id=self._machine.invocation_id,
            headers={h.key: h.value for h in start.headers},
            attempt_headers={},
            body=start.input,
            attempt_finished_event=self._runner.finished_event,
            scope=None,
            limit_key=None,
            idempotency_key=start.idempotency_key or None,
        )

    def key(self) -> str:
        return self._machine.start.key

    def random(self) -> Random:
        return self._machine.random

    def uuid(self) -> UUID:
        return UUID(int=self._machine.random.getrandbits(128), version=4)

    def time(self) -> RestateDurableFuture[float]:
        return self.run_typed("timestamp", time.time)

    # ------------------------------------------------------------------ state

    def get(
        self,
        name: str,
        serde: Serde[T] = DefaultSerde(),
        type_hint: type[T] | None = None,
        entry_name: str | None = None,
    ) -> RestateDurableFuture[T | None]:
        raw = self._machine.get_state(name, entry_name or "")
        serde = _typed(serde, type_hint)
        runner = self._runner

        async def value() -> T | None:
            if raw is None:
                return None
            return serde.deserialize(await runner.decode(raw))

        return ReadyFuture(value)

    def state_keys(self, entry_name: str | None = None) -> RestateDurableFuture[list[str]]:
        keys = self._machine.state_keys(entry_name or "")

        async def value() -> list[str]:
            return keys

        return ReadyFuture(value)

    def set(
        self, name: str, value: T, serde: Serde[T] = DefaultSerde(), entry_name: str | None = None
    ) -> None:
        self._check_writable("set")
        if isinstance(serde, DefaultSerde) and serde.type_hint is None and value is not None:
            serde = serde.with_maybe_type(type(value))
        data = self._runner.encode(serde.serialize(value))
        self._machine.set_state(name, data, entry_name or "")
        self._runner.changed()

    def clear(self, name: str, entry_name: str | None = None) -> None:
        self._check_writable("clear")
        self._machine.clear_state(name, entry_name or "")
        self._runner.changed()

    def clear_all(self, entry_name: str | None = None) -> None:
        self._check_writable("clear_all")
        self._machine.clear_all_state(entry_name or "")
        self._runner.changed()

    def _check_writable(self, operation: str) -> None:
        handler = self._runner.handler
        if handler is not None and handler.kind == "shared":
            raise TerminalError(
                f"ctx.{operation}() is not allowed in the shared handler {handler.name!r}: "
                "shared handlers can only read state; use an exclusive handler to write it",
                status_code=500,
            )

    # ------------------------------------------------------------------ run

    def run(
        self,
        name: str,
        action: RunAction[T],
        serde: Serde[T] = DefaultSerde(),
        max_attempts: int | None = None,
        max_retry_duration: timedelta | None = None,
        type_hint: type[T] | None = None,
        args: tuple[Any, ...] | None = None,
    ) -> RestateDurableFuture[T]:
        options: RunOptions[T] = RunOptions(
            serde=serde,
            type_hint=type_hint,
            max_attempts=max_attempts,
            max_retry_duration=max_retry_duration,
        )
        return self.run_typed(name, action, options, *(args or ()))

    def run_typed(
        self,
        name: str,
        action: Callable[P, Coroutine[Any, Any, T]] | Callable[P, T],
        options: RunOptions[T] = RunOptions(),
        /,
        *args: P.args,
        **kwargs: P.kwargs,
    ) -> RestateDurableFuture[T]:
        hint = options.type_hint
        if hint is None:
            annotation = getattr(action, "__annotations__", {}).get("return")
            hint = annotation if isinstance(annotation, type) else None
        serde = _typed(options.serde, hint)
        policy = RunRetryPolicy.from_options(options)  # type: ignore[arg-type]
        handle = self._runner.start_run(name, action, args, kwargs, policy, serde.serialize)
        self._runner.changed()
        runner = self._runner

        async def convert(data: bytes) -> T:
            return serde.deserialize(await runner.decode(data))  # type: ignore[return-value]

        return DurableFuture(runner, handle, convert)

    # ------------------------------------------------------------------ timers

    def sleep(self, delta: timedelta, name: str | None = None) -> RestateDurableSleepFuture:
        wake_up = self._runner.clock.now_ms() + int(delta.total_seconds() * 1000)
        index = self._machine.sleep(wake_up, name or "")
        self._runner.changed()

        async def convert(_: bytes) -> None:
            return None

        return DurableSleepFuture(self._runner, Handle(index), convert)

    # ------------------------------------------------------------------ awakeables

    def awakeable(
        self, serde: Serde[T] = DefaultSerde(), type_hint: type[T] | None = None
    ) -> tuple[str, RestateDurableFuture[T]]:
        index = self._machine.awakeable()
        self._runner.changed()
        serde = _typed(serde, type_hint)
        runner = self._runner

        async def convert(data: bytes) -> T:
            return serde.deserialize(await runner.decode(data))  # type: ignore[return-value]

        awakeable = awakeable_id(self._machine.invocation_id, index)
        return awakeable, DurableFuture(runner, Handle(index), convert)

    def resolve_awakeable(self, name: str, value: I, serde: Serde[I] = DefaultSerde()) -> None:
        data = self._runner.encode(serde.serialize(value))
        self._machine.complete_awakeable(name, pb.Result(value=data))
        self._runner.changed()

    def reject_awakeable(self, name: str, failure_message: str, failure_code: int = 500) -> None:
        failure = failure_of(TerminalError(failure_message, failure_code))
        self._machine.complete_awakeable(name, failure)
        self._runner.changed()

    # ------------------------------------------------------------------ invocations, promises

    def cancel_invocation(self, invocation_id: str) -> None:
        cancel_invocation(self._runner, invocation_id)

    def attach_invocation(
        self, invocation_id: str, serde: Serde[T] = DefaultSerde(), type_hint: type[T] | None = None
    ) -> RestateDurableFuture[T]:
        index = self._machine.attach_invocation(invocation_id)
        self._runner.changed()
        serde = _typed(serde, type_hint)
        runner = self._runner

        async def convert(data: bytes) -> T:
            return serde.deserialize(await runner.decode(data))  # type: ignore[return-value]

        return DurableFuture(runner, Handle(index), convert)

    def promise(
        self, name: str, serde: Serde[T] = DefaultSerde(), type_hint: type[T] | None = None
    ) -> DurablePromise[T]:
        check_workflow(self._runner, "ctx.promise()")
        return ServerDurablePromise(self._runner, name, _typed(serde, type_hint))

    # ------------------------------------------------------------------ not available yet

    def signal(
        self, name: str, serde: Serde[T] = DefaultSerde(), type_hint: type[T] | None = None
    ) -> RestateDurableFuture[T]:
        raise not_supported("ctx.signal()")

    def resolve_signal(
        self, invocation_id: str, name: str, value: I, serde: Serde[I] = DefaultSerde()
    ) -> None:
        raise not_supported("ctx.resolve_signal()")

    def reject_signal(
        self, invocation_id: str, name: str, failure_message: str, failure_code: int = 500
    ) -> None:
        raise not_supported("ctx.reject_signal()")

    def scope(self, scope: str) -> ScopedContext:
        raise not_supported("ctx.scope() (flow-control scopes)")
