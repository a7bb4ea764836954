"""Discovery: the protobuf manifest, the Restate-shaped JSON, and the ASGI endpoints."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import perdure as restate
from perdure import Context, ObjectContext, ObjectSharedContext
from perdure_proto import protocol_pb2 as pb

payments = restate.Service(
    "Payments",
    description="stateless handlers",
    inactivity_timeout=timedelta(minutes=5),
    invocation_retry_policy=restate.InvocationRetryPolicy(
        initial_interval=timedelta(milliseconds=100), max_attempts=5, on_max_attempts="kill"
    ),
    ingress_private=True,
)


@payments.handler(metadata={"team": "billing"}, abort_timeout=timedelta(seconds=3))
async def charge(ctx: Context, amount: int) -> str:
    """Charges a card."""
    return "ok"


counter = restate.VirtualObject("Counter", enable_lazy_state=False)


@counter.handler()
async def add(ctx: ObjectContext, n: int) -> int:
    return n


@counter.handler(kind="shared")
async def current(ctx: ObjectSharedContext) -> int:
    return 0


signup = restate.Workflow("Signup")


@signup.main(workflow_retention=timedelta(days=2))
async def run(ctx: restate.WorkflowContext, email: str) -> None:
    return None


app = restate.app(services=[payments, counter, signup])


def test_protobuf_manifest_carries_types_options_and_schemas() -> None:
    m = app.manifest()
    assert m.min_protocol_version == m.max_protocol_version == 1
    pay, cnt, wf = m.services
    assert (pay.ty, cnt.ty, wf.ty) == (pb.SERVICE, pb.VIRTUAL_OBJECT, pb.WORKFLOW)
    assert pay.documentation == "stateless handlers"
    assert pay.options.inactivity_timeout_ms == 300_000
    assert pay.options.ingress_private is True
    rp = pay.options.retry_policy
    assert (rp.initial_interval_ms, rp.max_attempts, rp.on_max_attempts) == (100, 5, pb.KILL)
    assert not rp.HasField("max_interval_ms")
    h = pay.handlers[0]
    assert (h.name, h.ty, h.documentation) == (
        "charge",
        pb.HANDLER_TYPE_UNSPECIFIED,
        "Charges a card.",
    )
    assert dict(h.metadata) == {"team": "billing"}
    assert h.options.abort_timeout_ms == 3000
    assert h.input.present and h.input.content_type == "application/json"
    assert json.loads(h.input.json_schema) == {"type": "integer"}
    assert json.loads(h.output.json_schema) == {"type": "string"}
    assert cnt.options.enable_lazy_state is False
    assert [(x.name, x.ty) for x in cnt.handlers] == [("add", pb.EXCLUSIVE), ("current", pb.SHARED)]
    assert not cnt.handlers[1].input.present
    assert wf.handlers[0].ty == pb.WORKFLOW_RUN
    assert wf.handlers[0].options.workflow_retention_ms == 2 * 86_400_000
    assert not wf.handlers[0].output.present


def test_json_manifest_has_restate_v4_shape() -> None:
    j = app.manifest_json()
    assert j["protocolMode"] == "BIDI_STREAM"
    pay, cnt, wf = j["services"]
    assert pay["ty"] == "SERVICE" and "ty" not in pay["handlers"][0]
    assert pay["retryPolicyOnMaxAttempts"] == "KILL"
    assert cnt["enableLazyState"] is False
    assert cnt["handlers"][0]["input"]["jsonSchema"] == {"type": "integer"}
    assert cnt["handlers"][1]["input"] == {}
    assert wf["handlers"][0]["ty"] == "WORKFLOW"
    assert wf["handlers"][0]["output"] == {"setContentTypeIfEmpty": False}


async def _asgi(path: str, headers: list[tuple[bytes, bytes]] | None = None) -> tuple[int, bytes]:
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b""}

    async def send(message: Any) -> None:
        sent.append(dict(message))

    scope = {"type": "http", "path": path, "method": "GET", "headers": headers or []}
    await app(scope, receive, send)
    return sent[0]["status"], sent[1]["body"]


async def test_asgi_health_discover_and_404() -> None:
    assert await _asgi("/health") == (200, b'{"status":"ok"}')
    status, body = await _asgi(
        "/restate/v1/discover",
        [(b"accept", b"application/vnd.restate.endpointmanifest.v4+json")],
    )
    assert status == 200 and json.loads(body)["services"][0]["name"] == "Payments"
    status, _ = await _asgi(
        "/discover", [(b"accept", b"application/vnd.restate.endpointmanifest.v9+json")]
    )
    assert status == 415
    assert (await _asgi("/elsewhere"))[0] == 404


def test_endpoint_builder() -> None:
    ep = restate.endpoint.Endpoint()
    assert ep.bind(payments, counter) is ep
    assert ep.streaming_protocol() is ep
    ep.request_response_protocol()
    assert ep.protocol == "request_response"
    built = ep.app()
    assert list(built.services) == ["Payments", "Counter"]
