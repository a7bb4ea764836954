"""Durable futures and handles handed to handler code, backed by machine handles."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Generator
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from perdure._context_types import (
    RestateDurableCallFuture,
    RestateDurableFuture,
    RestateDurableSleepFuture,
    SendHandle,
)
from perdure._machine import Handle
from perdure.exceptions import TerminalError
from perdure_proto import protocol_pb2 as pb

if TYPE_CHECKING:
    from perdure._attempt import AttemptRunner

__all__ = [
    "DurableCallFuture",
    "DurableFuture",
    "DurableSleepFuture",
    "ReadyFuture",
    "ServerSendHandle",
    "cancel_invocation",
    "not_supported",
]

T = TypeVar("T")

Converter = Callable[[bytes], Awaitable[T]]

_MISSING = object()


def not_supported(operation: str) -> TerminalError:
    """The error raised by context operations whose server side is not available yet."""
    return TerminalError(
        f"{operation} needs Perdure server support that is not available yet",
        status_code=501,
    )


class ServerFuture(RestateDurableFuture[T]):
    """A durable future of one attempt; caches its outcome."""

    def __init__(self, runner: AttemptRunner | None, handle: Handle | None) -> None:
        self.runner = runner
        self.handle = handle
        self._value: Any = _MISSING
        self._error: TerminalError | None = None

    def done(self) -> bool:
        """True once awaiting would not wait."""
        if self._value is not _MISSING or self._error is not None:
            return True
        if self.runner is None or self.handle is None:
            return True
        return self.runner.machine.is_done(self.handle)

    def __await__(self) -> Generator[Any, Any, T]:
        return self._get().__await__()

    async def _get(self) -> T:
        if self._value is _MISSING and self._error is None:
            # A cancellation raised by the wait is not this future's outcome: not cached.
            await self._wait()
            if self._value is _MISSING and self._error is None:
                try:
                    self._value = await self._compute()
                except TerminalError as e:
                    self._error = e
        if self._error is not None:
            raise self._error
        return self._value  # type: ignore[no-any-return]

    async def _wait(self) -> None:
        """Wait until the outcome is known."""

    async def _compute(self) -> T:
        raise NotImplementedError


class ReadyFuture(ServerFuture[T]):
    """A future whose value is already known (eager state reads)."""

    def __init__(self, compute: Callable[[], Awaitable[T]]) -> None:
        super().__init__(None, None)
        self._thunk = compute

    async def _compute(self) -> T:
        return await self._thunk()


class DurableFuture(ServerFuture[T]):
    """The result of a journaled command (run, call, sleep, awakeable)."""

    def __init__(self, runner: AttemptRunner, handle: Handle, convert: Converter[T]) -> None:
        super().__init__(runner, handle)
        self._runner = runner
        self._handle = handle
        self._convert = convert

    async def _wait(self) -> None:
        await self._runner.wait_any([self._handle])

    async def _compute(self) -> T:
        return await self._from_result(self._runner.machine.result(self._handle))

    async def _from_result(self, result: pb.Result) -> T:
        kind = result.WhichOneof("result")
        if kind == "failure":
            f = result.failure
            raise TerminalError(f.message, f.code, dict(f.metadata) or None)
        if kind == "value":
            return await self._convert(result.value)
        return await self._convert(b"")


class DurableSleepFuture(DurableFuture[None], RestateDurableSleepFuture):
    """A durable timer."""

    def __await__(self) -> Generator[Any, Any, None]:
        return self._get().__await__()


async def _invocation_id(runner: AttemptRunner, index: int) -> str:
    await runner.wait_any([Handle(index, "invocation_id")])
    return runner.machine.invocation_id_of(index)


def cancel_invocation(runner: AttemptRunner, invocation_id: str) -> None:
    """Journal a request to cancel ``invocation_id``."""
    runner.machine.cancel_invocation(invocation_id)
    runner.changed()


class DurableCallFuture(DurableFuture[T], RestateDurableCallFuture[T]):
    """The result of a call, plus the callee's invocation id."""

    async def invocation_id(self) -> str:
        return await _invocation_id(self._runner, self._handle.index)

    async def cancel_invocation(self) -> None:
        cancel_invocation(self._runner, await self.invocation_id())


class ServerSendHandle(SendHandle, Generic[T]):
    """The handle of a one-way send."""

    def __init__(self, runner: AttemptRunner, index: int) -> None:
        self.runner = runner
        self.index = index

    async def invocation_id(self) -> str:
        return await _invocation_id(self.runner, self.index)

    async def cancel_invocation(self) -> None:
        cancel_invocation(self.runner, await self.invocation_id())
