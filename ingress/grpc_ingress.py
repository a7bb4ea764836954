"""The gRPC ingress: `perdure.v1.Ingress` (proto/perdure_proto/ingress.proto) on top of the
same `IngressBackend` and request rules (ingress/rules.py) as the HTTP ingress, plus standard
gRPC health checking and server reflection, so grpcurl and any gRPC client can use it.

    server = GrpcIngress(backend, GrpcIngressOptions(port=9090))
    port = await server.start()      # serving when it returns
    ...
    await server.close()             # NOT_SERVING, then finish in-flight calls (bounded)

Guarantees are the backend's: Call answers once the result is durable, Send once the
invocation is, the awakeable methods once the completion is. A request the rules refuse never
reaches the backend. Every error is a gRPC status (`grpc_code`) with the HTTP ingress's status
and the failure in the trailing metadata (`failure_trailers`).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, NoReturn

import grpc
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection

from ingress.api import (
    Accepted,
    ById,
    ByIdempotencyKey,
    ByWorkflow,
    Completed,
    HandlerInfo,
    IngressBackend,
    InvocationRef,
    NotReady,
    Outcome,
    Rejected,
)
from ingress.paths import bad_invocation_id, valid_invocation_id
from ingress.responses import NOT_READY_MESSAGE, failure_status
from ingress.rules import (
    Refused,
    default_content_type,
    invoke_request,
    is_json,
    media_type,
    resolve_target,
)
from perdure_proto import ingress_pb2 as ipb
from perdure_proto import ingress_pb2_grpc as ipb_grpc
from perdure_proto import protocol_pb2 as pb

log = logging.getLogger(__name__)

# Told of each answered invocation request of a registered handler: (service, handler, the
# HTTP ingress's status for the answer), as the HTTP ingress does (the node's metrics).
Count = Callable[[str, str, str], None]

SERVICE_NAME = ipb.DESCRIPTOR.services_by_name["Ingress"].full_name  # perdure.v1.Ingress

# Metadata that is gRPC's own or consumed by the ingress, never forwarded to the handler.
_NOT_FORWARDED = frozenset(
    {"content-type", "user-agent", "te", "idempotency-key", "host", "connection", "accept"}
)
_JSON = "application/json"


@dataclass(frozen=True, slots=True)
class GrpcIngressOptions:
    host: str = "127.0.0.1"
    port: int = 9090  # 0: any free port
    # Several processes serving one port (a node's partition processes): the kernel spreads
    # the connections. Off, a port already taken fails `start()` instead of sharing it.
    reuse_port: bool = False
    max_message_bytes: int = 32 * 1024 * 1024
    shutdown_grace_s: float = 5.0
    name: str = "grpc-ingress"
    # TLS: the server's certificate chain and private key (PEM); both None: plaintext.
    tls_cert: bytes | None = None
    tls_key: bytes | None = None


def grpc_code(status: int, source: str) -> grpc.StatusCode:
    """The gRPC status for an HTTP ingress status (or a handler's TerminalError code)."""
    if status == 409:
        # Refused by the ingress: a workflow's run already invoked. From the invocation: it
        # ended with 409 (cancelled, killed, or the handler's own 409).
        return grpc.StatusCode.ALREADY_EXISTS if source == "ingress" else grpc.StatusCode.ABORTED
    return _CODES.get(status, grpc.StatusCode.UNKNOWN)


_CODES: Mapping[int, grpc.StatusCode] = {
    400: grpc.StatusCode.INVALID_ARGUMENT,
    401: grpc.StatusCode.UNAUTHENTICATED,
    403: grpc.StatusCode.PERMISSION_DENIED,
    404: grpc.StatusCode.NOT_FOUND,
    408: grpc.StatusCode.DEADLINE_EXCEEDED,
    412: grpc.StatusCode.FAILED_PRECONDITION,
    413: grpc.StatusCode.RESOURCE_EXHAUSTED,
    415: grpc.StatusCode.INVALID_ARGUMENT,
    422: grpc.StatusCode.INVALID_ARGUMENT,
    429: grpc.StatusCode.RESOURCE_EXHAUSTED,
    470: grpc.StatusCode.FAILED_PRECONDITION,  # Restate's "not ready yet"
    499: grpc.StatusCode.CANCELLED,
    500: grpc.StatusCode.INTERNAL,
    501: grpc.StatusCode.UNIMPLEMENTED,
    503: grpc.StatusCode.UNAVAILABLE,
    504: grpc.StatusCode.DEADLINE_EXCEEDED,
}


def failure_trailers(failure: ipb.Failure) -> tuple[tuple[str, str | bytes], ...]:
    """What an error carries besides its status: the code and source as text (readable with
    `grpcurl -v`), the invocation id, and the whole failure as `perdure-failure-bin`."""
    trailers: list[tuple[str, str | bytes]] = [
        ("perdure-error-code", str(failure.code)),
        ("perdure-error-source", failure.source),
        ("perdure-failure-bin", failure.SerializeToString()),
    ]
    if failure.invocation_id:
        trailers.append(("x-restate-id", failure.invocation_id))
    return tuple(trailers)


async def _fail(context: grpc.aio.ServicerContext[Any, Any], failure: ipb.Failure) -> NoReturn:
    await context.abort(
        grpc_code(failure.code, failure.source),
        failure.message,
        trailing_metadata=failure_trailers(failure),
    )
    raise AssertionError("abort returned")  # abort always raises


async def _refuse(
    context: grpc.aio.ServicerContext[Any, Any],
    status: int,
    message: str,
    invocation_id: str | None = None,
) -> NoReturn:
    failure = ipb.Failure(
        code=status, message=message, source="ingress", invocation_id=invocation_id or ""
    )
    await _fail(context, failure)


class IngressServicer(ipb_grpc.IngressServicer):
    """`perdure.v1.Ingress` over an `IngressBackend`."""

    def __init__(self, backend: IngressBackend, count: Count | None = None) -> None:
        self._backend = backend
        self._count = count

    async def Call(
        self, request: ipb.CallRequest, context: grpc.aio.ServicerContext[Any, Any]
    ) -> ipb.InvocationOutput:
        target, outcome = await self._invoke(request, context, send=False, delay=None)
        if self._count is not None:
            self._count(target.service, target.handler, _http_status(outcome, send=False))
        if isinstance(outcome, Completed):
            return await _output(context, outcome, target)
        await _answer_error(context, outcome)

    async def Send(
        self, request: ipb.SendRequest, context: grpc.aio.ServicerContext[Any, Any]
    ) -> ipb.SendResponse:
        target, outcome = await self._invoke(
            request, context, send=True, delay=request.delay or None
        )
        if self._count is not None:
            self._count(target.service, target.handler, _http_status(outcome, send=True))
        if isinstance(outcome, Accepted):
            return ipb.SendResponse(
                invocation_id=outcome.invocation_id,
                status=(
                    ipb.SEND_STATUS_PREVIOUSLY_ACCEPTED
                    if outcome.previously
                    else ipb.SEND_STATUS_ACCEPTED
                ),
                execution_time_ms=outcome.execution_time_ms or 0,
            )
        if isinstance(outcome, Completed):
            # A send repeated (same idempotency key) after the invocation finished.
            return ipb.SendResponse(
                invocation_id=outcome.invocation_id, status=ipb.SEND_STATUS_PREVIOUSLY_ACCEPTED
            )
        await _answer_error(context, outcome)

    async def Attach(
        self, request: ipb.InvocationTarget, context: grpc.aio.ServicerContext[Any, Any]
    ) -> ipb.InvocationOutput:
        ref = await _ref(request, context)
        return await self._lookup(ref, await self._backend.attach(ref), context)

    async def Output(
        self, request: ipb.InvocationTarget, context: grpc.aio.ServicerContext[Any, Any]
    ) -> ipb.InvocationOutput:
        ref = await _ref(request, context)
        return await self._lookup(ref, await self._backend.output(ref), context)

    async def ResolveAwakeable(
        self, request: ipb.ResolveAwakeableRequest, context: grpc.aio.ServicerContext[Any, Any]
    ) -> ipb.AwakeableResponse:
        value = request.json.encode() if request.HasField("json") else request.body
        return await self._complete(request.awakeable_id, pb.Result(value=value), context)

    async def RejectAwakeable(
        self, request: ipb.RejectAwakeableRequest, context: grpc.aio.ServicerContext[Any, Any]
    ) -> ipb.AwakeableResponse:
        failure = pb.Failure(code=500, message=request.message)  # as the HTTP ingress does
        return await self._complete(request.awakeable_id, pb.Result(failure=failure), context)

    async def _invoke(
        self,
        request: ipb.CallRequest | ipb.SendRequest,
        context: grpc.aio.ServicerContext[Any, Any],
        *,
        send: bool,
        delay: str | None,
    ) -> tuple[HandlerInfo, Outcome]:
        key = request.key if request.HasField("key") else None
        target = resolve_target(self._backend, request.service, request.handler, key)
        if isinstance(target, Refused):
            await _refuse(context, target.status, target.message)
        metadata = context.invocation_metadata() or ()
        idempotency_key = _metadata_value(metadata, "idempotency-key")
        which = request.WhichOneof("input")
        if which == "json":
            body = request.json.encode()
            content_type = request.content_type or _JSON
        else:
            body = request.body
            content_type = request.content_type or default_content_type(target.accept)
        invoke = invoke_request(
            target,
            key,
            send=send,
            body=body,
            content_type=content_type,
            headers=(*_forwarded(metadata), ("content-type", content_type)),
            idempotency_key=idempotency_key,
            delay=delay,
        )
        if isinstance(invoke, Refused):
            return target, Rejected(invoke.status, invoke.message)
        return target, await self._backend.invoke(invoke)

    async def _lookup(
        self,
        ref: InvocationRef,
        outcome: Outcome,
        context: grpc.aio.ServicerContext[Any, Any],
    ) -> ipb.InvocationOutput:
        if isinstance(outcome, Completed):
            target = None
            if isinstance(ref, ByIdempotencyKey):
                target = self._backend.handler(ref.service, ref.handler)
            return await _output(context, outcome, target)
        await _answer_error(context, outcome)

    async def _complete(
        self, awakeable_id: str, result: pb.Result, context: grpc.aio.ServicerContext[Any, Any]
    ) -> ipb.AwakeableResponse:
        rejected = await self._backend.complete_awakeable(awakeable_id, result)
        if rejected is not None:
            await _answer_error(context, rejected)
        return ipb.AwakeableResponse()


def _http_status(outcome: Outcome, *, send: bool) -> str:
    """The HTTP ingress's status for an invocation request's outcome (the metrics' label)."""
    if isinstance(outcome, Completed):
        if outcome.result.WhichOneof("result") == "failure" and not send:
            return _STATUS[failure_status(outcome.result.failure.code)]
        return "202" if send else "200"
    if isinstance(outcome, Accepted):
        return "202"
    if isinstance(outcome, NotReady):
        return "470"
    return _STATUS[outcome.code] if outcome.code in _STATUS else str(outcome.code)


_STATUS = {code: str(code) for code in range(100, 1000)}  # label values, made once


async def _output(
    context: grpc.aio.ServicerContext[Any, Any], outcome: Completed, target: HandlerInfo | None
) -> ipb.InvocationOutput:
    """The answer for a completed invocation; its terminal failure as an error."""
    result = outcome.result
    kind = result.WhichOneof("result")
    if kind == "failure":
        failure = result.failure
        await _fail(
            context,
            ipb.Failure(
                code=failure.code,
                message=failure.message,
                metadata=failure.metadata,
                source="invocation",
                invocation_id=outcome.invocation_id,
            ),
        )
    value = result.value if kind == "value" else b""
    content_type = outcome.content_type or (target.output_content_type if target else None)
    if not (value or (target is not None and target.set_content_type_if_empty)):
        content_type = None  # as the HTTP ingress: no content type on an empty answer
    answer = ipb.InvocationOutput(
        invocation_id=outcome.invocation_id, content_type=content_type or ""
    )
    if value and content_type and is_json(media_type(content_type)):
        try:
            answer.json = value.decode()
            return answer
        except UnicodeDecodeError:
            pass
    if value:
        answer.body = value
    return answer


async def _answer_error(
    context: grpc.aio.ServicerContext[Any, Any], outcome: Outcome | Rejected
) -> NoReturn:
    if isinstance(outcome, Rejected):
        await _refuse(context, outcome.code, outcome.message, outcome.invocation_id)
    if isinstance(outcome, NotReady):
        await _refuse(context, 470, NOT_READY_MESSAGE, outcome.invocation_id)
    await _refuse(
        context, 500, f"unexpected answer to this request: {type(outcome).__name__}", None
    )


async def _ref(
    request: ipb.InvocationTarget, context: grpc.aio.ServicerContext[Any, Any]
) -> InvocationRef:
    which = request.WhichOneof("target")
    if which == "invocation_id":
        if not valid_invocation_id(request.invocation_id):
            bad = bad_invocation_id(request.invocation_id)
            await _refuse(context, bad.status, bad.message)
        return ById(request.invocation_id)
    if which == "idempotent":
        idem = request.idempotent
        if not (idem.service and idem.handler and idem.idempotency_key):
            await _refuse(context, 400, "idempotent needs service, handler and idempotency_key")
        key = idem.key if idem.HasField("key") else None
        return ByIdempotencyKey(idem.service, key, idem.handler, idem.idempotency_key)
    if which == "workflow":
        if not request.workflow.name:
            await _refuse(context, 400, "workflow needs the workflow's name and key")
        return ByWorkflow(request.workflow.name, request.workflow.key)
    await _refuse(context, 400, "the target is missing: set invocation_id, idempotent or workflow")


def _metadata_value(metadata: Sequence[tuple[str, str | bytes]], name: str) -> str | None:
    for key, value in metadata:
        if key == name:
            return value if isinstance(value, str) else value.decode("utf-8", "replace")
    return None


def _forwarded(metadata: Sequence[tuple[str, str | bytes]]) -> tuple[tuple[str, str], ...]:
    """Request metadata that reaches the handler as headers (as HTTP headers do)."""
    return tuple(
        (key, value)
        for key, value in metadata
        if isinstance(value, str)
        and key not in _NOT_FORWARDED
        and not key.startswith(("grpc-", ":"))
    )


class GrpcIngress:
    """Serves `perdure.v1.Ingress`, grpc.health.v1.Health and reflection on one port, with
    grpc.aio on the running event loop."""

    def __init__(
        self, backend: IngressBackend, options: GrpcIngressOptions, count: Count | None = None
    ) -> None:
        self.options = options
        self._backend = backend
        self._count = count
        self._server: grpc.aio.Server | None = None
        self._health = health.aio.HealthServicer()
        self._port = 0

    @property
    def port(self) -> int:
        """The bound port (0 before `start()`)."""
        return self._port

    async def start(self) -> int:
        """Bind and serve; returns the bound port. Raises RuntimeError if the port is taken."""
        if self._server is not None:
            raise RuntimeError(f"{self.options.name} already started")
        opts = self.options
        server = grpc.aio.server(
            options=[
                ("grpc.so_reuseport", 1 if opts.reuse_port else 0),
                ("grpc.max_receive_message_length", opts.max_message_bytes),
                ("grpc.max_send_message_length", opts.max_message_bytes),
            ]
        )
        ipb_grpc.add_IngressServicer_to_server(  # type: ignore[no-untyped-call]
            IngressServicer(self._backend, self._count), server
        )
        health_pb2_grpc.add_HealthServicer_to_server(self._health, server)
        reflection.enable_server_reflection(
            (SERVICE_NAME, health.SERVICE_NAME, reflection.SERVICE_NAME), server
        )
        address = f"[{opts.host}]:{opts.port}" if ":" in opts.host else f"{opts.host}:{opts.port}"
        try:
            if opts.tls_cert is not None and opts.tls_key is not None:
                credentials = grpc.ssl_server_credentials([(opts.tls_key, opts.tls_cert)])
                port = server.add_secure_port(address, credentials)
            else:
                port = server.add_insecure_port(address)
        except RuntimeError as exc:
            raise RuntimeError(f"{opts.name}: cannot listen on {address}: {exc}") from exc
        await server.start()
        for service in ("", SERVICE_NAME):
            await self._health.set(service, health_pb2.HealthCheckResponse.SERVING)
        self._server, self._port = server, int(port)
        tls = " (TLS)" if opts.tls_cert is not None else ""
        log.info("%s listening on %s:%d%s", opts.name, opts.host, port, tls)
        return self._port

    async def close(self) -> None:
        """Report NOT_SERVING, stop accepting, let in-flight calls finish within the grace."""
        server, self._server = self._server, None
        if server is None:
            return
        await self._health.enter_graceful_shutdown()
        await server.stop(self.options.shutdown_grace_s)
