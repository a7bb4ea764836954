"""Types of the typed ingress client."""

from __future__ import annotations

import abc
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, TypeVar

from perdure._context_types import HandlerType
from perdure.serde import DefaultSerde, Serde

__all__ = [
    "GrpcError",
    "HttpError",
    "RestateClient",
    "RestateClientSendHandle",
    "RestateScopedClient",
]

T = TypeVar("T")
I = TypeVar("I")  # noqa: E741
O = TypeVar("O")  # noqa: E741


@dataclass
class RestateClientSendHandle:
    """The answer to a send: the new invocation's id."""

    invocation_id: str
    status_code: int


class HttpError(Exception):
    """The ingress answered with an HTTP status >= 400."""

    def __init__(self, status_code: int, message: str, body: str | None = None) -> None:
        super().__init__(f"HTTP {status_code}: {message}")
        self.status_code = status_code
        self.message = message
        self.body = body


class GrpcError(HttpError):
    """The gRPC ingress answered with an error. `status_code` is what the HTTP ingress would
    have answered (a handler's TerminalError code, 404, 470, ...), so code catching HttpError
    works with either transport; `grpc_code` is the grpc.StatusCode."""

    def __init__(
        self,
        status_code: int,
        message: str,
        grpc_code: Any,
        *,
        source: str = "",
        invocation_id: str = "",
        metadata: dict[str, str] | None = None,
    ) -> None:
        super().__init__(status_code, message)
        self.grpc_code = grpc_code
        self.source = source  # "ingress" (refused) or "invocation" (the handler failed)
        self.invocation_id = invocation_id
        self.metadata = metadata or {}  # the handler's failure metadata


class RestateScopedClient(abc.ABC):
    """Calls and sends within a flow-control scope."""

    @abc.abstractmethod
    async def service_call(
        self,
        tpe: HandlerType[I, O],
        arg: I,
        limit_key: str | None = None,
        idempotency_key: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> O: ...

    @abc.abstractmethod
    async def service_send(
        self,
        tpe: HandlerType[I, O],
        arg: I,
        send_delay: timedelta | None = None,
        limit_key: str | None = None,
        idempotency_key: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> RestateClientSendHandle: ...

    @abc.abstractmethod
    async def object_call(
        self,
        tpe: HandlerType[I, O],
        key: str,
        arg: I,
        limit_key: str | None = None,
        idempotency_key: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> O: ...

    @abc.abstractmethod
    async def object_send(
        self,
        tpe: HandlerType[I, O],
        key: str,
        arg: I,
        send_delay: timedelta | None = None,
        limit_key: str | None = None,
        idempotency_key: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> RestateClientSendHandle: ...


class RestateClient(abc.ABC):
    """Typed calls and sends to a Perdure (or Restate) ingress."""

    @abc.abstractmethod
    async def service_call(
        self,
        tpe: HandlerType[I, O],
        arg: I,
        idempotency_key: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> O: ...

    @abc.abstractmethod
    async def service_send(
        self,
        tpe: HandlerType[I, O],
        arg: I,
        send_delay: timedelta | None = None,
        idempotency_key: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> RestateClientSendHandle: ...

    @abc.abstractmethod
    async def object_call(
        self,
        tpe: HandlerType[I, O],
        key: str,
        arg: I,
        idempotency_key: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> O: ...

    @abc.abstractmethod
    async def object_send(
        self,
        tpe: HandlerType[I, O],
        key: str,
        arg: I,
        send_delay: timedelta | None = None,
        idempotency_key: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> RestateClientSendHandle: ...

    @abc.abstractmethod
    async def workflow_call(
        self,
        tpe: HandlerType[I, O],
        key: str,
        arg: I,
        idempotency_key: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> O: ...

    @abc.abstractmethod
    async def workflow_send(
        self,
        tpe: HandlerType[I, O],
        key: str,
        arg: I,
        send_delay: timedelta | None = None,
        idempotency_key: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> RestateClientSendHandle: ...

    @abc.abstractmethod
    async def generic_call(
        self,
        service: str,
        handler: str,
        arg: bytes,
        key: str | None = None,
        idempotency_key: str | None = None,
        headers: dict[str, str] | None = None,
        scope: str | None = None,
        limit_key: str | None = None,
    ) -> bytes: ...

    @abc.abstractmethod
    async def generic_send(
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
    ) -> RestateClientSendHandle: ...

    @abc.abstractmethod
    def scope(self, scope: str) -> RestateScopedClient: ...

    # Perdure additions (restate-sdk's client has no attach/output helpers).

    @abc.abstractmethod
    async def attach_invocation(
        self, invocation_id: str, serde: Serde[T] = DefaultSerde(), type_hint: type[T] | None = None
    ) -> T:
        """Wait for the invocation ``invocation_id`` to finish and return its result (raises
        ``HttpError`` with the invocation's failure code if it failed)."""

    @abc.abstractmethod
    async def invocation_output(
        self, invocation_id: str, serde: Serde[T] = DefaultSerde(), type_hint: type[T] | None = None
    ) -> T:
        """The result of a finished invocation; ``HttpError`` 470 while it is still running."""


Client = RestateClient
_ = Any
