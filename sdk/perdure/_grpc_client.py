"""The typed ingress client over the gRPC ingress (`perdure.v1.Ingress`, grpcio only):
``create_client("grpc://host:port")``.

Same methods and results as over HTTP: bodies in the handler's serde, the idempotency key and
headers as request metadata, a send's delay as the ingress's `delay` text. Errors raise
`GrpcError`, an `HttpError` whose `status_code` is what the HTTP ingress would have answered
(read from the answer's `perdure-failure-bin` trailer), so callers handle both alike.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import grpc

from perdure.client import _IngressClient, _Target
from perdure.client_types import GrpcError
from perdure.entry_codec import JournalValueCodec
from perdure_proto import ingress_pb2 as ipb
from perdure_proto import ingress_pb2_grpc as ipb_grpc

# Without a Failure in the trailers (the server was not reached, or is not Perdure's).
_HTTP_STATUS = {
    "CANCELLED": 499,
    "INVALID_ARGUMENT": 400,
    "DEADLINE_EXCEEDED": 408,
    "NOT_FOUND": 404,
    "ALREADY_EXISTS": 409,
    "PERMISSION_DENIED": 403,
    "RESOURCE_EXHAUSTED": 429,
    "FAILED_PRECONDITION": 470,
    "ABORTED": 409,
    "UNIMPLEMENTED": 501,
    "UNAVAILABLE": 503,
    "UNAUTHENTICATED": 401,
}


def grpc_target(ingress: str) -> str | None:
    """`host:port` of a `grpc://` (or `grpcs://`) ingress address; None for any other."""
    for scheme in ("grpc://", "grpcs://"):
        if ingress.startswith(scheme):
            return ingress[len(scheme) :].rstrip("/")
    return None


def open_channel(ingress: str) -> grpc.aio.Channel:
    target = grpc_target(ingress)
    if target is None:
        raise ValueError(f"not a gRPC ingress address (grpc://host:port): {ingress!r}")
    if ingress.startswith("grpcs://"):
        return grpc.aio.secure_channel(target, grpc.ssl_channel_credentials())
    return grpc.aio.insecure_channel(target)


def error_of(exc: grpc.aio.AioRpcError) -> GrpcError:
    """The GrpcError for a failed RPC, with the ingress's failure when it sent one."""
    code = exc.code()
    message = exc.details() or code.name
    for key, value in exc.trailing_metadata() or ():
        if key == "perdure-failure-bin" and isinstance(value, bytes):
            failure = ipb.Failure.FromString(value)
            return GrpcError(
                failure.code,
                failure.message or message,
                code,
                source=failure.source,
                invocation_id=failure.invocation_id,
                metadata=dict(failure.metadata),
            )
    return GrpcError(_HTTP_STATUS.get(code.name, 500), message, code)


class GrpcClient(_IngressClient):
    """A `RestateClient` over one gRPC channel (`headers` go with every request)."""

    def __init__(
        self,
        channel: grpc.aio.Channel,
        codec: JournalValueCodec | None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(codec)
        self._stub = ipb_grpc.IngressStub(channel)  # type: ignore[no-untyped-call]
        self._headers = {k.lower(): v for k, v in (headers or {}).items()}

    def _metadata(self, target: _Target) -> tuple[tuple[str, str], ...]:
        if target.scope is not None:
            raise GrpcError(
                400, "scoped invocations are not supported by Perdure", grpc.StatusCode.UNKNOWN
            )
        metadata = {**self._headers, **{k.lower(): v for k, v in (target.headers or {}).items()}}
        if target.idempotency_key is not None:
            metadata["idempotency-key"] = target.idempotency_key
        return tuple(metadata.items())

    async def _call(self, target: _Target, body: bytes) -> bytes:
        request = ipb.CallRequest(
            service=target.service,
            handler=target.handler,
            key=target.key,
            body=body,
            content_type=target.content_type if body and target.content_type else "",
        )
        answer = await self._rpc(self._stub.Call, request, self._metadata(target))
        return _content(answer)

    async def _send(self, target: _Target, body: bytes, delay: timedelta | None) -> str:
        request = ipb.SendRequest(
            service=target.service,
            handler=target.handler,
            key=target.key,
            body=body,
            content_type=target.content_type if body and target.content_type else "",
            delay=f"{int(delay.total_seconds() * 1000)}ms" if delay is not None else "",
        )
        answer = await self._rpc(self._stub.Send, request, self._metadata(target))
        invocation_id: str = answer.invocation_id
        return invocation_id

    async def _fetch(self, invocation_id: str, action: str) -> bytes:
        method = self._stub.Attach if action == "attach" else self._stub.Output
        target = ipb.InvocationTarget(invocation_id=invocation_id)
        return _content(await self._rpc(method, target, tuple(self._headers.items())))

    async def _rpc(self, method: Any, request: Any, metadata: tuple[tuple[str, str], ...]) -> Any:
        try:
            return await method(request, metadata=metadata)
        except grpc.aio.AioRpcError as exc:
            raise error_of(exc) from None


def _content(answer: ipb.InvocationOutput) -> bytes:
    if answer.WhichOneof("output") == "json":
        return answer.json.encode()
    return answer.body
