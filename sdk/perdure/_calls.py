"""Calls and sends of the runtime context: typed (by handler reference) and generic."""

from __future__ import annotations

from datetime import timedelta
from typing import Any, TypeVar

from perdure._attempt import AttemptRunner
from perdure._context_types import HandlerType, RestateDurableCallFuture, SendHandle
from perdure._futures import DurableCallFuture, ServerSendHandle, not_supported
from perdure._machine import AttemptMachine, Handle
from perdure.handler import handler_from_callable
from perdure.serde import BytesSerde, Serde
from perdure_proto import protocol_pb2 as pb

__all__ = ["CallsMixin"]

I = TypeVar("I")  # noqa: E741
O = TypeVar("O")  # noqa: E741


def _headers(headers: dict[str, str] | None) -> list[pb.Header]:
    return [pb.Header(key=k, value=v) for k, v in (headers or {}).items()]


class CallsMixin:
    """``service_call`` & co. for ``ServerInvocationContext``: each one journals a Call or Send."""

    _runner: AttemptRunner
    _machine: AttemptMachine

    def _call(
        self,
        service: str,
        handler: str,
        key: str | None,
        argument: bytes,
        idempotency_key: str | None,
        headers: dict[str, str] | None,
        output: Serde[O],
    ) -> RestateDurableCallFuture[O]:
        call = pb.Call(
            service=service,
            handler=handler,
            key=key or "",
            argument=self._runner.encode(argument),
            headers=_headers(headers),
            idempotency_key=idempotency_key or "",
        )
        index = self._machine.call(call)
        self._runner.changed()
        runner = self._runner

        async def convert(data: bytes) -> O:
            return output.deserialize(await runner.decode(data))  # type: ignore[return-value]

        return DurableCallFuture(runner, Handle(index), convert)

    def _send(
        self,
        service: str,
        handler: str,
        key: str | None,
        argument: bytes,
        send_delay: timedelta | None,
        idempotency_key: str | None,
        headers: dict[str, str] | None,
    ) -> SendHandle:
        invoke_time = 0
        if send_delay is not None and send_delay > timedelta(0):
            invoke_time = self._runner.clock.now_ms() + int(send_delay.total_seconds() * 1000)
        send = pb.Send(
            service=service,
            handler=handler,
            key=key or "",
            argument=self._runner.encode(argument),
            headers=_headers(headers),
            idempotency_key=idempotency_key or "",
            invoke_time_ms=invoke_time,
        )
        index = self._machine.send(send)
        self._runner.changed()
        return ServerSendHandle(self._runner, index)

    def _typed_call(
        self, tpe: Any, key: str | None, arg: Any, idem: str | None, headers: dict[str, str] | None
    ) -> RestateDurableCallFuture[Any]:
        h = handler_from_callable(tpe)
        data = h.io.input_serde.serialize(arg)
        return self._call(h.service_tag.name, h.name, key, data, idem, headers, h.io.output_serde)

    def _typed_send(
        self,
        tpe: Any,
        key: str | None,
        arg: Any,
        delay: timedelta | None,
        idem: str | None,
        headers: dict[str, str] | None,
    ) -> SendHandle:
        h = handler_from_callable(tpe)
        data = h.io.input_serde.serialize(arg)
        return self._send(h.service_tag.name, h.name, key, data, delay, idem, headers)

    def service_call(
        self,
        tpe: HandlerType[I, O],
        arg: I,
        idempotency_key: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> RestateDurableCallFuture[O]:
        return self._typed_call(tpe, None, arg, idempotency_key, headers)

    def service_send(
        self,
        tpe: HandlerType[I, O],
        arg: I,
        send_delay: timedelta | None = None,
        idempotency_key: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> SendHandle:
        return self._typed_send(tpe, None, arg, send_delay, idempotency_key, headers)

    def object_call(
        self,
        tpe: HandlerType[I, O],
        key: str,
        arg: I,
        idempotency_key: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> RestateDurableCallFuture[O]:
        return self._typed_call(tpe, key, arg, idempotency_key, headers)

    def object_send(
        self,
        tpe: HandlerType[I, O],
        key: str,
        arg: I,
        send_delay: timedelta | None = None,
        idempotency_key: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> SendHandle:
        return self._typed_send(tpe, key, arg, send_delay, idempotency_key, headers)

    def workflow_call(
        self,
        tpe: HandlerType[I, O],
        key: str,
        arg: I,
        idempotency_key: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> RestateDurableCallFuture[O]:
        return self._typed_call(tpe, key, arg, idempotency_key, headers)

    def workflow_send(
        self,
        tpe: HandlerType[I, O],
        key: str,
        arg: I,
        send_delay: timedelta | None = None,
        idempotency_key: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> SendHandle:
        return self._typed_send(tpe, key, arg, send_delay, idempotency_key, headers)

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
        if scope is not None or limit_key is not None:
            raise not_supported("scope / limit_key")
        output: Serde[bytes] = BytesSerde()
        return self._call(service, handler, key, arg, idempotency_key, headers, output)

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
        if scope is not None or limit_key is not None:
            raise not_supported("scope / limit_key")
        return self._send(service, handler, key, arg, send_delay, idempotency_key, headers)
