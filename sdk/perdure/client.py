"""Typed ingress client over httpx (``pip install perdure[client]``).

Wire format: ``POST {ingress}/{Service}[/{key}]/{handler}[/send][?delay=<ms>ms]``, the target
handler's input serde for the body, ``Idempotency-Key`` header; scoped calls use
``/restate/scope/{scope}/call|send/...`` plus ``x-restate-limit-key``. Perdure adds
``attach_invocation`` / ``invocation_output`` (``GET /restate/invocation/{id}/attach|output``).
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta
from typing import Any, TypeVar
from urllib.parse import quote

from perdure._context_types import HandlerType
from perdure.client_types import (
    Client,
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


class _HttpClient(RestateClient):
    def __init__(self, http: Any, codec: JournalValueCodec | None) -> None:
        self._http = http
        self._codec = codec

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
        parts = [quote(service, safe="")]
        if key is not None:
            parts.append(quote(key, safe=""))
        parts.append(quote(handler, safe=""))
        path = "/" + "/".join(parts)
        if scope is not None:
            path = f"/restate/scope/{quote(scope, safe='')}/{'send' if send else 'call'}{path}"
        elif send:
            path += "/send"
        params = {}
        if delay is not None:
            params["delay"] = f"{int(delay.total_seconds() * 1000)}ms"
        h = dict(headers or {})
        if content_type and body:
            h.setdefault("Content-Type", content_type)
        if idem is not None:
            h["Idempotency-Key"] = idem
        if limit_key is not None:
            h["x-restate-limit-key"] = limit_key
        if self._codec is not None and body:
            body = self._codec.encode(body)
        res = await self._http.post(path, content=body, headers=h, params=params)
        _raise_for_status(res)
        content: bytes = res.content
        if self._codec is not None and content and not send:
            content = await self._codec.decode(content)
        return res.status_code, content

    async def _lookup(
        self, invocation_id: str, action: str, serde: Serde[T], type_hint: type[T] | None
    ) -> T:
        if type_hint is not None and isinstance(serde, DefaultSerde):
            serde = serde.with_maybe_type(type_hint)
        res = await self._http.get(f"/restate/invocation/{quote(invocation_id, safe='')}/{action}")
        _raise_for_status(res)
        content: bytes = res.content
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
        return RestateClientSendHandle(json.loads(out)["invocationId"], 200)

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
        return RestateClientSendHandle(json.loads(out)["invocationId"], 200)

    def scope(self, scope: str) -> RestateScopedClient:
        return _ScopedClient(self, scope)


class _ScopedClient(RestateScopedClient):
    def __init__(self, client: _HttpClient, scope: str) -> None:
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


@asynccontextmanager
async def create_client(
    ingress: str,
    headers: dict[str, str] | None = None,
    journal_value_codec: JournalValueCodec | None = None,
) -> AsyncIterator[RestateClient]:
    """A typed client of the ingress at ``ingress`` (needs httpx: ``perdure[client]``)."""
    try:
        import httpx
    except ImportError as e:
        raise ImportError(
            "perdure.create_client needs httpx: install it with `pip install perdure[client]`"
        ) from e
    async with httpx.AsyncClient(base_url=ingress, headers=headers, timeout=None) as http:
        yield _HttpClient(http, journal_value_codec)
