"""The handler-facing context API (abstract; ``perdure._server_context`` implements it).

Class hierarchy, as in restate-sdk 1.2::

    Context
    +-- ObjectContext(Context, KeyValueStore)          exclusive Virtual Object handler
    |   +-- WorkflowContext(ObjectContext)             workflow run handler (+ promises)
    +-- ObjectSharedContext(Context)                   shared Virtual Object handler (read-only)
        +-- WorkflowSharedContext(ObjectSharedContext) workflow shared handler (+ promises)
"""

from __future__ import annotations

import abc
from collections.abc import Awaitable, Callable, Coroutine
from datetime import timedelta
from random import Random
from typing import Any, ParamSpec, TypeVar, overload
from uuid import UUID

from perdure._context_types import (
    AttemptFinishedEvent,
    DurablePromise,
    HandlerType,
    KeyValueStore,
    Request,
    RestateDurableCallFuture,
    RestateDurableFuture,
    RestateDurableSleepFuture,
    RunAction,
    RunOptions,
    ScopedContext,
    SendHandle,
)
from perdure.serde import DefaultSerde, Serde

__all__ = [
    "AttemptFinishedEvent",
    "Context",
    "DurablePromise",
    "HandlerType",
    "KeyValueStore",
    "ObjectContext",
    "ObjectSharedContext",
    "Request",
    "RestateDurableCallFuture",
    "RestateDurableFuture",
    "RestateDurableSleepFuture",
    "RunAction",
    "RunOptions",
    "ScopedContext",
    "SendHandle",
    "WorkflowContext",
    "WorkflowSharedContext",
]

T = TypeVar("T")
I = TypeVar("I")  # noqa: E741
O = TypeVar("O")  # noqa: E741
P = ParamSpec("P")


class Context(abc.ABC):
    """The context of the current invocation: journaled operations and deterministic helpers."""

    @abc.abstractmethod
    def request(self) -> Request:
        """The request that started this invocation."""

    @abc.abstractmethod
    def random(self) -> Random:
        """A ``Random`` seeded by the server: the same values on every retry and replay."""

    @abc.abstractmethod
    def uuid(self) -> UUID:
        """A UUID v4 from ``random()``: stable across retries and replays."""

    @abc.abstractmethod
    def time(self) -> RestateDurableFuture[float]:
        """``time.time()`` recorded in the journal (seconds)."""

    @abc.abstractmethod
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
        """Deprecated form of ``run_typed``: run ``action(*args)`` once and journal its result."""

    @overload
    def run_typed(
        self,
        name: str,
        action: Callable[P, Coroutine[Any, Any, T]],
        options: RunOptions[T] = RunOptions(),
        /,
        *args: P.args,
        **kwargs: P.kwargs,
    ) -> RestateDurableFuture[T]: ...

    @overload
    def run_typed(
        self,
        name: str,
        action: Callable[P, T],
        options: RunOptions[T] = RunOptions(),
        /,
        *args: P.args,
        **kwargs: P.kwargs,
    ) -> RestateDurableFuture[T]: ...

    @abc.abstractmethod
    def run_typed(
        self,
        name: str,
        action: Callable[P, Coroutine[Any, Any, T]] | Callable[P, T],
        options: RunOptions[T] = RunOptions(),
        /,
        *args: P.args,
        **kwargs: P.kwargs,
    ) -> RestateDurableFuture[T]:
        """Run ``action(*args, **kwargs)`` once and journal its result (or terminal failure)."""

    @abc.abstractmethod
    def sleep(self, delta: timedelta, name: str | None = None) -> RestateDurableSleepFuture:
        """A durable timer firing after ``delta``."""

    @abc.abstractmethod
    def service_call(
        self,
        tpe: HandlerType[I, O],
        arg: I,
        idempotency_key: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> RestateDurableCallFuture[O]:
        """Call a service handler and get a future of its result."""

    @abc.abstractmethod
    def service_send(
        self,
        tpe: HandlerType[I, O],
        arg: I,
        send_delay: timedelta | None = None,
        idempotency_key: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> SendHandle:
        """Send a one-way invocation to a service handler."""

    @abc.abstractmethod
    def object_call(
        self,
        tpe: HandlerType[I, O],
        key: str,
        arg: I,
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
        idempotency_key: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> SendHandle:
        """Send a one-way invocation to a Virtual Object handler."""

    @abc.abstractmethod
    def workflow_call(
        self,
        tpe: HandlerType[I, O],
        key: str,
        arg: I,
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
        idempotency_key: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> SendHandle:
        """Send a one-way invocation to a workflow handler."""

    @abc.abstractmethod
    def generic_call(
        self,
        service: str,
        handler: str,
        arg: bytes,
        key: str | None = None,
        idempotency_key: str | None = None,
        headers: dict[str, str] | None = None,
        scope: str | None = None,
        limit_key: str | None = None,
    ) -> RestateDurableCallFuture[bytes]:
        """Call any handler by name with raw bytes."""

    @abc.abstractmethod
    def generic_send(
        self,
        service: str,
        handler: str,
        arg: bytes,
        key: str | None = None,
        send_delay: timedelta | None = None,
        idempotency_key: str | None = None,
        headers: dict[str, str] | None = None,
        scope: str | None = None,
        limit_key: str | None = None,
    ) -> SendHandle:
        """Send to any handler by name with raw bytes."""

    @abc.abstractmethod
    def awakeable(
        self, serde: Serde[T] = DefaultSerde(), type_hint: type[T] | None = None
    ) -> tuple[str, RestateDurableFuture[T]]:
        """An id others can complete, and the future of its value."""

    @abc.abstractmethod
    def resolve_awakeable(self, name: str, value: I, serde: Serde[I] = DefaultSerde()) -> None:
        """Complete the awakeable ``name`` with ``value``."""

    @abc.abstractmethod
    def reject_awakeable(self, name: str, failure_message: str, failure_code: int = 500) -> None:
        """Complete the awakeable ``name`` with a failure."""

    @abc.abstractmethod
    def signal(
        self, name: str, serde: Serde[T] = DefaultSerde(), type_hint: type[T] | None = None
    ) -> RestateDurableFuture[T]:
        """Wait for the next resolution of the named signal of this invocation."""

    @abc.abstractmethod
    def resolve_signal(
        self, invocation_id: str, name: str, value: I, serde: Serde[I] = DefaultSerde()
    ) -> None:
        """Resolve a named signal of another invocation."""

    @abc.abstractmethod
    def reject_signal(
        self, invocation_id: str, name: str, failure_message: str, failure_code: int = 500
    ) -> None:
        """Reject a named signal of another invocation."""

    @abc.abstractmethod
    def cancel_invocation(self, invocation_id: str) -> None:
        """Ask the server to cancel an invocation."""

    @abc.abstractmethod
    def attach_invocation(
        self, invocation_id: str, serde: Serde[T] = DefaultSerde(), type_hint: type[T] | None = None
    ) -> RestateDurableFuture[T]:
        """The future result of any invocation, by id."""

    @abc.abstractmethod
    def scope(self, scope: str) -> ScopedContext:
        """Calls and sends within a flow-control scope (preview)."""


class ObjectContext(Context, KeyValueStore):
    """Context of an exclusive Virtual Object handler: read and write state."""

    @abc.abstractmethod
    def key(self) -> str:
        """The key of this object."""


class ObjectSharedContext(Context):
    """Context of a shared Virtual Object handler: read-only state."""

    @abc.abstractmethod
    def key(self) -> str:
        """The key of this object."""

    @abc.abstractmethod
    def get(
        self,
        name: str,
        serde: Serde[T] = DefaultSerde(),
        type_hint: type[T] | None = None,
        entry_name: str | None = None,
    ) -> RestateDurableFuture[T | None]:
        """The value stored under ``name``, or ``None``."""

    @abc.abstractmethod
    def state_keys(self, entry_name: str | None = None) -> Awaitable[list[str]]:
        """The names of all stored values."""


class WorkflowContext(ObjectContext):
    """Context of a workflow's run handler."""

    @abc.abstractmethod
    def promise(
        self, name: str, serde: Serde[T] = DefaultSerde(), type_hint: type[T] | None = None
    ) -> DurablePromise[T]:
        """The workflow's durable promise ``name``."""


class WorkflowSharedContext(ObjectSharedContext):
    """Context of a workflow's shared handlers."""

    @abc.abstractmethod
    def promise(
        self, name: str, serde: Serde[T] = DefaultSerde(), type_hint: type[T] | None = None
    ) -> DurablePromise[T]:
        """The workflow's durable promise ``name``."""
