"""Restate's HTTP ingress on top of an `IngressBackend`: routing, request rules, responses.

    server = HttpServer(IngressHandler(backend), HttpServerOptions(port=8080, name="ingress"))
    port = await server.start()

Rules enforced before anything reaches the backend (each with Restate's status code; the
invocation rules live in ingress/rules.py, shared with the gRPC ingress):
GET/POST only (405), unknown service or handler (404), private service (400), `?delay=` only
on sends (400), no `Idempotency-Key` on a workflow's run handler (400), request content-type
against the handler's `accept` (415), required input missing (400), and a malformed JSON body
when the handler takes JSON (400; Restate lets the handler fail with 500 instead).

`POST /restate/awakeables/{id}/resolve|reject` (alias `/restate/a/...`) completes an awakeable:
202 with an empty body once the completion is durable; the backend's refusal (400 malformed id,
404 unknown) in the ingress error shape.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import assert_never

import orjson

from ingress.api import (
    Accepted,
    ById,
    ByIdempotencyKey,
    ByWorkflow,
    Completed,
    IngressBackend,
    InvocationRef,
    Rejected,
)
from ingress.http_types import JSON_CONTENT_TYPE, Request, Response
from ingress.paths import (
    Awakeable,
    Health,
    Invoke,
    Lookup,
    LookupByBody,
    OpenApi,
    PathError,
    bad_invocation_id,
    parse_route,
    valid_invocation_id,
)
from ingress.responses import (
    accepted,
    id_headers,
    ingress_error,
    method_not_allowed,
    render_outcome,
)
from ingress.rules import Refused, invoke_request
from perdure_proto import protocol_pb2 as pb

# Not forwarded to the handler: hop-by-hop headers, and those the ingress itself consumes.
_DROPPED_HEADERS = frozenset(
    {
        "connection",
        "host",
        "content-length",
        "transfer-encoding",
        "idempotency-key",
        "idempotency-expires",
        "keep-alive",
        "upgrade",
        "te",
        "trailer",
        "proxy-connection",
        "expect",
    }
)
_INVOKE_METHODS = ("GET", "POST")


class IngressHandler:
    """The ingress request handler (an `ingress.http.Handler`)."""

    error_response = staticmethod(ingress_error)  # picked up by HttpServer for its own errors

    def __init__(
        self, backend: IngressBackend, count: Callable[[str, str, str], None] | None = None
    ) -> None:
        """`count(service, handler, status)` is told of each answered invocation request of a
        registered handler (the node's metrics)."""
        self._backend = backend
        self._count = count

    async def __call__(self, request: Request) -> Response:
        route = parse_route(request.path, self._backend)
        if isinstance(route, Invoke):
            response = await self._invoke(request, route)
            if self._count is not None:
                target = route.target
                self._count(target.service, target.handler, _STATUS[response.status])
            return response
        if isinstance(route, PathError):
            return ingress_error(route.status, route.message)
        if isinstance(route, Lookup):
            if request.method not in ("GET", "HEAD"):
                return method_not_allowed("GET")
            return await self._lookup(route.ref, route.action)
        if isinstance(route, LookupByBody):
            if request.method != "POST":
                return method_not_allowed("POST")
            return await self._lookup_by_body(request, route)
        if isinstance(route, Health):
            return Response(200)
        if isinstance(route, OpenApi):
            return ingress_error(404, "not found; the OpenAPI documents are on the admin API")
        if isinstance(route, Awakeable):
            if request.method != "POST":
                return method_not_allowed("POST")
            return await self._complete_awakeable(route, request.body)
        assert_never(route)

    async def _invoke(self, request: Request, route: Invoke) -> Response:
        if request.method not in _INVOKE_METHODS:
            return method_not_allowed(*_INVOKE_METHODS)
        headers = request.headers
        invoke = invoke_request(
            route.target,
            route.key,
            send=route.send,
            body=request.body,
            content_type=headers.get("content-type"),
            headers=_forwarded_headers(headers, request.path),
            idempotency_key=headers.get("idempotency-key"),
            delay=request.query.get("delay"),
        )
        if isinstance(invoke, Refused):
            return ingress_error(invoke.status, invoke.message)
        target = route.target
        outcome = await self._backend.invoke(invoke)
        if route.send and isinstance(outcome, Completed):
            # A send repeated (same idempotency key) after the invocation finished.
            return accepted(Accepted(outcome.invocation_id, previously=True))
        return render_outcome(
            outcome,
            output_content_type=target.output_content_type,
            set_content_type_if_empty=target.set_content_type_if_empty,
        )

    async def _complete_awakeable(self, route: Awakeable, body: bytes) -> Response:
        """resolve: the body is the value as is; reject: the body is the failure message
        (code 500, invalid UTF-8 replaced, like Restate). 202 with an empty body once durable."""
        if route.action == "resolve":
            result = pb.Result(value=body)
        else:
            message = body.decode("utf-8", errors="replace")
            result = pb.Result(failure=pb.Failure(code=500, message=message))
        rejected = await self._backend.complete_awakeable(route.awakeable_id, result)
        if rejected is not None:
            return render_outcome(rejected)
        return Response(202)

    async def _lookup(self, ref: InvocationRef, action: str) -> Response:
        if action == "attach":
            outcome = await self._backend.attach(ref)
        else:
            outcome = await self._backend.output(ref)
        if isinstance(ref, ByIdempotencyKey):
            info = self._backend.handler(ref.service, ref.handler)
            if info is not None:
                return render_outcome(
                    outcome,
                    output_content_type=info.output_content_type,
                    set_content_type_if_empty=info.set_content_type_if_empty,
                )
        return render_outcome(outcome)

    async def _lookup_by_body(self, request: Request, route: LookupByBody) -> Response:
        ref = _parse_target(request.body)
        if isinstance(ref, Response):
            return ref
        if route.action != "lookup":
            return await self._lookup(ref, route.action)
        outcome = await self._backend.output(ref)
        if isinstance(outcome, Rejected):
            return render_outcome(outcome)
        invocation_id = outcome.invocation_id
        return Response(
            200,
            orjson.dumps({"invocationId": invocation_id}),
            (JSON_CONTENT_TYPE, *id_headers(invocation_id)),
        )


_STATUS = {code: str(code) for code in range(100, 600)}  # label values, made once


def _forwarded_headers(headers: Mapping[str, str], path: str) -> tuple[tuple[str, str], ...]:
    kept = tuple((k, v) for k, v in headers.items() if k not in _DROPPED_HEADERS)
    return (*kept, ("x-restate-ingress-path", path))


def _parse_target(body: bytes) -> InvocationRef | Response:
    """The JSON body of `POST /restate/attach|output|lookup`."""
    try:
        doc = orjson.loads(body)
    except orjson.JSONDecodeError:
        return ingress_error(400, "the request body is not valid JSON")
    if not isinstance(doc, dict):
        return ingress_error(400, "the request body must be a JSON object with a 'target' field")
    target = doc.get("target")
    try:
        if target == "invocation":
            invocation_id = _field(doc, "invocationId")
            if not valid_invocation_id(invocation_id):
                bad = bad_invocation_id(invocation_id)
                return ingress_error(bad.status, bad.message)
            return ById(invocation_id)
        if target == "idempotentInvocation":
            key = doc.get("key")
            if key is not None and not isinstance(key, str):
                raise ValueError("'key' must be a string")
            return ByIdempotencyKey(
                _field(doc, "service"), key, _field(doc, "handler"), _field(doc, "idempotencyKey")
            )
        if target == "workflow":
            return ByWorkflow(_field(doc, "workflowName"), _field(doc, "workflowKey"))
    except ValueError as exc:
        return ingress_error(400, f"bad request body: {exc}")
    return ingress_error(
        400,
        "bad request body: 'target' must be one of 'invocation', 'idempotentInvocation', "
        "'workflow'",
    )


def _field(doc: dict[str, object], name: str) -> str:
    value = doc.get(name)
    if not isinstance(value, str) or not value:
        raise ValueError(f"the field '{name}' is required and must be a non-empty string")
    return value
