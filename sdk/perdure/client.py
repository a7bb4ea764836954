"""Typed ingress client: over HTTP with httpx (``pip install perdure[client]``), or over the
gRPC ingress with grpcio alone (``create_client("grpc://host:port")``, ``perdure._grpc_client``).

HTTP wire format: ``POST {ingress}/{Service}[/{key}]/{handler}[/send][?delay=<ms>ms]``, the target
handler's input serde for the body, ``Idempotency-Key`` header; scoped calls use
``/restate/scope/{scope}/call|send/...`` plus ``x-restate-limit-key``. Perdure adds
``attach_invocation`` / ``invocation_output`` (``GET /restate/invocation/{id}/attach|output``).
"""

from __future__ import annotations

import abc
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, TypeVar
from urllib.parse import quote

from perdure._context_types import HandlerType
from perdure.client_types import (
    Client,
    GrpcError,
    HttpError,
    RestateClient,
    RestateClientSendHandle,
    RestateScopedClient,
)
from perdure.entry_codec import JournalValueCodec
from perdure.handler import handler_from_callable
from perdure.serde import DefaultSerde, Serde

__all__ = [
    "Client",
    "GrpcError",
    "HttpError",
    "RestateClient",
    "RestateClientSendHandle",
    "RestateScopedClient",
    "create_client",
]

T = TypeVar("T")
I = TypeVar("I")  # noqa: E741
O = TypeVar("O")  # noqa: E741


def _raise_for_status(res: Any) -> None:
    if res.status_code >= 400:
        text = res.text
        message = text
        try:
            message = json.loads(text).get("message", text)
        except (ValueError, AttributeError):
            pass
        raise HttpError(res.status_code, message, text)


class _IngressClient(RestateClient):
    """The typed methods over a transport's `_call`, `_send` and `_fetch` (raw bytes); the
    journal value codec, when given, encodes what goes out and decodes what comes back."""

    def __init__(self, codec: JournalValueCodec | None) -> None:
        self._codec = codec

    @abc.abstractmethod
    async def _call(self, target: _Target, body: bytes) -> bytes:
        """Invoke and wait for the output (raises HttpError)."""

    @abc.abstractmethod
    async def _send(self, target: _Target, body: bytes, delay: timedelta | None) -> str:
        """Invoke without waiting; the invocation id once it is durable (raises HttpError)."""

    @abc.abstractmethod
    async def _fetch(self, invocation_id: str, action: str) -> bytes:
        """The output of an invocation: `action` "attach" waits for it, "output" does not."""

    async def _post(
        self,
        service: str,
        handler: str,
        key: str | None,
        body: bytes,
        send: bool,
        delay: timedelta | None,
        idem: str | None,
        headers: dict[str, str] | None,
        content_type: str | None,
        scope: str | None = None,
        limit_key: str | None = None,
    ) -> tuple[int, bytes]:
        """A call's output, or a send's invocation id (as bytes)."""
        target = _Target(service, handler, key, idem, headers, content_type, scope, limit_key)
        if self._codec is not None and body:
            body = self._codec.encode(body)
        if send:
            return 202, (await self._send(target, body, delay)).encode()
        content = await self._call(target, body)
        if self._codec is not None and content:
            content = await self._codec.decode(content)
        return 200, content

    async def _lookup(
        self, invocation_id: str, action: str, serde: Serde[T], type_hint: type[T] | None
    ) -> T:
        if type_hint is not None and isinstance(serde, DefaultSerde):
            serde = serde.with_maybe_type(type_hint)
        content = await self._fetch(invocation_id, action)
        if self._codec is not None and content:
            content = await self._codec.decode(content)
        return serde.deserialize(content)  # type: ignore[return-value]

    async def attach_invocation(
        self, invocation_id: str, serde: Serde[T] = DefaultSerde(), type_hint: type[T] | None = None
    ) -> T:
        return await self._lookup(invocation_id, "attach", serde, type_hint)

    async def invocation_output(
        self, invocation_id: str, serde: Serde[T] = DefaultSerde(), type_hint: type[T] | None = None
    ) -> T:
        return await self._lookup(invocation_id, "output", serde, type_hint)

    async def _typed_call(
        self,
        tpe: Any,
        key: str | None,
        arg: Any,
        idem: str | None,
        headers: dict[str, str] | None,
        limit_key: str | None = None,
        scope: str | None = None,
    ) -> Any:
        h = handler_from_callable(tpe)
        body = h.io.input_serde.serialize(arg) if h.io.has_input else b""
        _, out = await self._post(
            h.service_tag.name,
            h.name,
            key,
            body,
            False,
            None,
            idem,
            headers,
            h.io.accept,
            scope,
            limit_key,
        )
        return h.io.output_serde.deserialize(out)

    async def _typed_send(
        self,
        tpe: Any,
        key: str | None,
        arg: Any,
        delay: timedelta | None,
        idem: str | None,
        headers: dict[str, str] | None,
        limit_key: str | None = None,
        scope: str | None = None,
    ) -> RestateClientSendHandle:
        h = handler_from_callable(tpe)
        body = h.io.input_serde.serialize(arg) if h.io.has_input else b""
        _, out = await self._post(
            h.service_tag.name,
            h.name,
            key,
            body,
            True,
            delay,
            idem,
            headers,
            h.io.accept,
            scope,
            limit_key,
        )
        return RestateClientSendHandle(out.decode(), 200)

    async def service_call(
        self,
        tpe: HandlerType[I, O],
        arg: I,
        idempotency_key: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> O:
        return await self._typed_call(tpe, None, arg, idempotency_key, headers)  # type: ignore[no-any-return]

    async def service_send(
        self,
        tpe: HandlerType[I, O],
        arg: I,
        send_delay: timedelta | None = None,
        idempotency_key: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> RestateClientSendHandle:
        return await self._typed_send(tpe, None, arg, send_delay, idempotency_key, headers)

    async def object_call(
        self,
        tpe: HandlerType[I, O],
        key: str,
        arg: I,
        idempotency_key: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> O:
        return await self._typed_call(tpe, key, arg, idempotency_key, headers)  # type: ignore[no-any-return]

    async def object_send(
        self,
        tpe: HandlerType[I, O],
        key: str,
        arg: I,
        send_delay: timedelta | None = None,
        idempotency_key: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> RestateClientSendHandle:
        return await self._typed_send(tpe, key, arg, send_delay, idempotency_key, headers)

    async def workflow_call(
        self,
        tpe: HandlerType[I, O],
        key: str,
        arg: I,
        idempotency_key: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> O:
        return await self._typed_call(tpe, key, arg, idempotency_key, headers)  # type: ignore[no-any-return]

    async def workflow_send(
        self,
        tpe: HandlerType[I, O],
        key: str,
        arg: I,
        send_delay: timedelta | None = None,
        idempotency_key: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> RestateClientSendHandle:
        return await self._typed_send(tpe, key, arg, send_delay, idempotency_key, headers)

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
    ) -> bytes:
        _, out = await self._post(
            service,
            handler,
            key,
            arg,
            False,
            None,
            idempotency_key,
            headers,
            "application/octet-stream",
            scope,
            limit_key,
        )
        return out

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
    ) -> RestateClientSendHandle:
        _, out = await self._post(
            service,
            handler,
            key,
            arg,
            True,
            send_delay,
            idempotency_key,
            headers,
            "application/octet-stream",
            scope,
            limit_key,
        )
        return RestateClientSendHandle(out.decode(), 200)

    def scope(self, scope: str) -> RestateScopedClient:
        return _ScopedClient(self, scope)


class _ScopedClient(RestateScopedClient):
    def __init__(self, client: _IngressClient, scope: str) -> None:
        self._c = client
        self._scope = scope

    async def service_call(
        self,
        tpe: HandlerType[I, O],
        arg: I,
        limit_key: str | None = None,
        idempotency_key: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> O:
        out = await self._c._typed_call(
            tpe, None, arg, idempotency_key, headers, limit_key, self._scope
        )
        return out  # type: ignore[no-any-return]

    async def service_send(
        self,
        tpe: HandlerType[I, O],
        arg: I,
        send_delay: timedelta | None = None,
        limit_key: str | None = None,
        idempotency_key: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> RestateClientSendHandle:
        return await self._c._typed_send(
            tpe, None, arg, send_delay, idempotency_key, headers, limit_key, self._scope
        )

    async def object_call(
        self,
        tpe: HandlerType[I, O],
        key: str,
        arg: I,
        limit_key: str | None = None,
        idempotency_key: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> O:
        out = await self._c._typed_call(
            tpe, key, arg, idempotency_key, headers, limit_key, self._scope
        )
        return out  # type: ignore[no-any-return]

    async def object_send(
        self,
        tpe: HandlerType[I, O],
        key: str,
        arg: I,
        send_delay: timedelta | None = None,
        limit_key: str | None = None,
        idempotency_key: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> RestateClientSendHandle:
        return await self._c._typed_send(
            tpe, key, arg, send_delay, idempotency_key, headers, limit_key, self._scope
        )


@dataclass(frozen=True, slots=True)
class _Target:
    """What one call or send addresses, and how (as the typed methods pass it on)."""

    service: str
    handler: str
    key: str | None
    idempotency_key: str | None
    headers: dict[str, str] | None
    content_type: str | None
    scope: str | None = None
    limit_key: str | None = None


class _HttpClient(_IngressClient):
    def __init__(self, http: Any, codec: JournalValueCodec | None) -> None:
        super().__init__(codec)
        self._http = http

    async def _request(
        self, target: _Target, body: bytes, send: bool, delay: timedelta | None
    ) -> Any:
        parts = [quote(target.service, safe="")]
        if target.key is not None:
            parts.append(quote(target.key, safe=""))
        parts.append(quote(target.handler, safe=""))
        path = "/" + "/".join(parts)
        if target.scope is not None:
            verb = "send" if send else "call"
            path = f"/restate/scope/{quote(target.scope, safe='')}/{verb}{path}"
        elif send:
            path += "/send"
        params = {}
        if delay is not None:
            params["delay"] = f"{int(delay.total_seconds() * 1000)}ms"
        h = dict(target.headers or {})
        if target.content_type and body:
            h.setdefault("Content-Type", target.content_type)
        if target.idempotency_key is not None:
            h["Idempotency-Key"] = target.idempotency_key
        if target.limit_key is not None:
            h["x-restate-limit-key"] = target.limit_key
        res = await self._http.post(path, content=body, headers=h, params=params)
        _raise_for_status(res)
        return res

    async def _call(self, target: _Target, body: bytes) -> bytes:
        res = await self._request(target, body, False, None)
        content: bytes = res.content
        return content

    async def _send(self, target: _Target, body: bytes, delay: timedelta | None) -> str:
        res = await self._request(target, body, True, delay)
        invocation_id: str = json.loads(res.content)["invocationId"]
        return invocation_id

    async def _fetch(self, invocation_id: str, action: str) -> bytes:
        res = await self._http.get(f"/restate/invocation/{quote(invocation_id, safe='')}/{action}")
        _raise_for_status(res)
        content: bytes = res.content
        return content


@asynccontextmanager
async def create_client(
    ingress: str,
    headers: dict[str, str] | None = None,
    journal_value_codec: JournalValueCodec | None = None,
) -> AsyncIterator[RestateClient]:
    """A typed client of the ingress at ``ingress``: ``http://host:8080`` (needs httpx:
    ``perdure[client]``), or the gRPC ingress at ``grpc://host:9090`` (grpcio only)."""
    if ingress.startswith(("grpc://", "grpcs://")):
        from perdure import _grpc_client

        async with _grpc_client.open_channel(ingress) as channel:
            yield _grpc_client.GrpcClient(channel, journal_value_codec, headers)
        return
    try:
        import httpx
    except ImportError as e:
        raise ImportError(
            "perdure.create_client needs httpx: install it with `pip install perdure[client]`"
        ) from e
    async with httpx.AsyncClient(base_url=ingress, headers=headers, timeout=None) as http:
        yield _HttpClient(http, journal_value_codec)
