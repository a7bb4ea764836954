"""Workflow durable promises: ``ctx.promise(name)`` journals GetPromise, PeekPromise and
CompletePromise commands."""

from __future__ import annotations

from collections.abc import Awaitable
from typing import TYPE_CHECKING, TypeVar

from perdure._context_types import DurablePromise, RestateDurableFuture
from perdure._futures import DurableFuture
from perdure._machine import Handle
from perdure.exceptions import TerminalError
from perdure.serde import DefaultSerde, Serde
from perdure_proto import protocol_pb2 as pb

if TYPE_CHECKING:
    from perdure._attempt import AttemptRunner

__all__ = ["PeekFuture", "ServerDurablePromise"]

T = TypeVar("T")


class PeekFuture(DurableFuture[T | None]):
    """The answer to a peek: the value, ``None`` while not completed, or the rejection raised."""

    async def _from_result(self, result: pb.Result) -> T | None:
        if result.WhichOneof("result") == "void":
            return None
        return await super()._from_result(result)


async def _nothing(_: bytes) -> None:
    return None


class ServerDurablePromise(DurablePromise[T]):
    """A promise of the current workflow key; every method journals one command."""

    def __init__(self, runner: AttemptRunner, name: str, serde: Serde[T]) -> None:
        super().__init__(name, serde)
        self._runner = runner

    async def _decode(self, data: bytes) -> T:
        return self.serde.deserialize(await self._runner.decode(data))  # type: ignore[return-value]

    def value(self) -> RestateDurableFuture[T]:
        index = self._runner.machine.get_promise(self.name)
        self._runner.changed()
        return DurableFuture(self._runner, Handle(index), self._decode)

    def peek(self) -> Awaitable[T | None]:
        index = self._runner.machine.peek_promise(self.name)
        self._runner.changed()
        return PeekFuture(self._runner, Handle(index), self._decode)

    def resolve(self, value: T) -> Awaitable[None]:
        serde = self.serde
        if isinstance(serde, DefaultSerde) and serde.type_hint is None and value is not None:
            serde = serde.with_maybe_type(type(value))
        data = self._runner.encode(serde.serialize(value))
        return self._complete(pb.Result(value=data))

    def reject(self, message: str, code: int = 500) -> Awaitable[None]:
        return self._complete(pb.Result(failure=pb.Failure(code=code, message=message)))

    def _complete(self, result: pb.Result) -> Awaitable[None]:
        """Journal the completion; awaiting it raises ``TerminalError`` (409) if the promise
        was completed before."""
        index = self._runner.machine.complete_promise(self.name, result)
        self._runner.changed()
        return DurableFuture(self._runner, Handle(index), _nothing)


def check_workflow(runner: AttemptRunner, operation: str) -> None:
    """Promises belong to a workflow key: refuse them elsewhere with a clear error."""
    handler = runner.handler
    if handler is not None and handler.service_tag.kind != "workflow":
        raise TerminalError(
            f"{operation} is only available in workflow handlers, but "
            f"{handler.service_tag.name}/{handler.name} is a {handler.service_tag.kind} handler",
            status_code=500,
        )
