"""Value types of the context API: futures, handles, run options, the request, the state store."""

from __future__ import annotations

import abc
from collections.abc import Awaitable, Callable, Coroutine, Generator
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any, Generic, ParamSpec, TypeVar

from perdure.serde import DefaultSerde, Serde

__all__ = [
    "AttemptFinishedEvent",
    "DurablePromise",
    "HandlerType",
    "KeyValueStore",
    "Request",
    "RestateDurableCallFuture",
    "RestateDurableFuture",
    "RestateDurableSleepFuture",
    "RunAction",
    "RunOptions",
    "ScopedContext",
    "SendHandle",
]

T = TypeVar("T")
I = TypeVar("I")  # noqa: E741
O = TypeVar("O")  # noqa: E741
P = ParamSpec("P")

HandlerType = Callable[[Any, I], Awaitable[O]] | Callable[[Any], Awaitable[O]]
RunAction = Callable[..., Coroutine[Any, Any, T]] | Callable[..., T]


@dataclass
class RunOptions(Generic[T]):
    """Options of ``ctx.run_typed``.

    Setting any retry field makes the SDK retry the action locally (defaults then: 50 ms initial
    interval, factor 2, 10 s max interval); when exhausted the run fails with a ``TerminalError``
    carrying the last error message. With no retry field set, a failing action fails the whole
    attempt and the invocation retry policy applies.
    """

    serde: Serde[T] = field(default_factory=DefaultSerde)
    type_hint: type[T] | None = None
    max_attempts: int | None = None
    max_duration: timedelta | None = None
    initial_retry_interval: timedelta | None = None
    max_retry_interval: timedelta | None = None
    retry_interval_factor: float | None = None
    max_retry_duration: timedelta | None = None


class RestateDurableFuture(Generic[T], Awaitable[T]):
    """A durable result: awaiting it twice returns the cached value."""

    @abc.abstractmethod
    def __await__(self) -> Generator[Any, Any, T]:
        """Wait for the result."""


class RestateDurableCallFuture(RestateDurableFuture[T]):
    """The result of a call; also knows the callee's invocation id."""

    @abc.abstractmethod
    async def invocation_id(self) -> str:
        """The invocation id of the call."""

    @abc.abstractmethod
    async def cancel_invocation(self) -> None:
        """Cancel the called invocation."""


class RestateDurableSleepFuture(RestateDurableFuture[None]):
    """A durable timer; awaiting it yields ``None``."""

    @abc.abstractmethod
    def __await__(self) -> Generator[Any, Any, None]:
        """Wait for the timer."""


class AttemptFinishedEvent(abc.ABC):
    """Set when the current attempt ends (completed, failed, suspended or aborted)."""

    @abc.abstractmethod
    def is_set(self) -> bool:
        """True once the attempt has finished."""

    @abc.abstractmethod
    async def wait(self) -> None:
        """Wait until the attempt finishes."""


@dataclass
class Request:
    """The request that started the invocation."""

    id: str
    headers: dict[str, str]
    attempt_headers: dict[str, str]
    body: bytes
    attempt_finished_event: AttemptFinishedEvent
    scope: str | None = None
    limit_key: str | None = None
    idempotency_key: str | None = None


class KeyValueStore(abc.ABC):
    """The state of a Virtual Object / Workflow key."""

    @abc.abstractmethod
    def get(
        self,
        name: str,
        serde: Serde[T] = DefaultSerde(),
        type_hint: type[T] | None = None,
        entry_name: str | None = None,
    ) -> Awaitable[T | None]:
        """The value stored under ``name``, or ``None``."""

    @abc.abstractmethod
    def state_keys(self, entry_name: str | None = None) -> Awaitable[list[str]]:
        """The names of all stored values."""

    @abc.abstractmethod
    def set(
        self, name: str, value: T, serde: Serde[T] = DefaultSerde(), entry_name: str | None = None
    ) -> None:
        """Store ``value`` under ``name``."""

    @abc.abstractmethod
    def clear(self, name: str, entry_name: str | None = None) -> None:
        """Remove the value stored under ``name``."""

    @abc.abstractmethod
    def clear_all(self, entry_name: str | None = None) -> None:
        """Remove every stored value."""


class SendHandle(abc.ABC):
    """The handle of a one-way send."""

    @abc.abstractmethod
    async def invocation_id(self) -> str:
        """The invocation id of the sent invocation."""

    @abc.abstractmethod
    async def cancel_invocation(self) -> None:
        """Cancel the sent invocation."""


class ScopedContext(abc.ABC):
    """Calls and sends within a flow-control scope (preview)."""

    @abc.abstractmethod
    def service_call(
        self,
        tpe: HandlerType[I, O],
        arg: I,
        limit_key: str | None = None,
        idempotency_key: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> RestateDurableCallFuture[O]:
        """Call a service handler."""

    @abc.abstractmethod
    def service_send(
        self,
        tpe: HandlerType[I, O],
        arg: I,
        send_delay: timedelta | None = None,
        limit_key: str | None = None,
        idempotency_key: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> SendHandle:
        """Send to a service handler."""

    @abc.abstractmethod
    def object_call(
        self,
        tpe: HandlerType[I, O],
        key: str,
        arg: I,
        limit_key: str | None = None,
        idempotency_key: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> RestateDurableCallFuture[O]:
        """Call a Virtual Object handler."""

    @abc.abstractmethod
    def object_send(
        self,
        tpe: HandlerType[I, O],
        key: str,
        arg: I,
        send_delay: timedelta | None = None,
        limit_key: str | None = None,
        idempotency_key: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> SendHandle:
        """Send to a Virtual Object handler."""

    @abc.abstractmethod
    def workflow_call(
        self,
        tpe: HandlerType[I, O],
        key: str,
        arg: I,
        limit_key: str | None = None,
        idempotency_key: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> RestateDurableCallFuture[O]:
        """Call a workflow handler."""

    @abc.abstractmethod
    def workflow_send(
        self,
        tpe: HandlerType[I, O],
        key: str,
        arg: I,
        send_delay: timedelta | None = None,
        limit_key: str | None = None,
        idempotency_key: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> SendHandle:
        """Send to a workflow handler."""


class DurablePromise(Generic[T]):
    """A workflow-scoped durable promise."""

    def __init__(self, name: str, serde: Serde[T] = DefaultSerde()) -> None:
        self.name = name
        self.serde = serde

    @abc.abstractmethod
    def resolve(self, value: T) -> Awaitable[None]:
        """Complete the promise with ``value``."""

    @abc.abstractmethod
    def reject(self, message: str, code: int = 500) -> Awaitable[None]:
        """Complete the promise with a failure."""

    @abc.abstractmethod
    def peek(self) -> Awaitable[T | None]:
        """The value if completed, else ``None``."""

    @abc.abstractmethod
    def value(self) -> RestateDurableFuture[T]:
        """Wait for the value."""

    def __await__(self) -> Generator[Any, Any, T]:
        return self.value().__await__()
