"""The gRPC ingress over real gRPC channels, on a fake backend: what reaches the backend, the
answers, Restate's status codes as gRPC codes with the failure in the trailers, health and
reflection."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection_pb2, reflection_pb2_grpc

from ingress.api import (
    Accepted,
    ById,
    ByIdempotencyKey,
    ByWorkflow,
    Completed,
    InvokeRequest,
    NotReady,
    Outcome,
    Rejected,
)
from ingress.grpc_ingress import GrpcIngress, GrpcIngressOptions
from perdure_proto import ingress_pb2 as ipb
from perdure_proto import ingress_pb2_grpc as ipb_grpc
from tests.ingress.fakes import FakeIngress, failure, handler_info, value
from tests.ingress.test_ingress_rules import make_backend, returns

INV = "inv_1abc"


@pytest.fixture
def backend() -> FakeIngress:
    return make_backend().add(
        handler_info("Files", "put", accept="application/octet-stream", output_content_type=None)
    )


@pytest.fixture
async def server(backend: FakeIngress) -> AsyncIterator[GrpcIngress]:
    server = GrpcIngress(backend, GrpcIngressOptions(host="127.0.0.1", port=0))
    await server.start()
    yield server
    await server.close()


@pytest.fixture
async def channel(server: GrpcIngress) -> AsyncIterator[grpc.aio.Channel]:
    async with grpc.aio.insecure_channel(f"127.0.0.1:{server.port}") as channel:
        yield channel


@pytest.fixture
def stub(channel: grpc.aio.Channel) -> Any:
    return ipb_grpc.IngressStub(channel)  # type: ignore[no-untyped-call]


def trailers(error: grpc.aio.AioRpcError) -> dict[str, Any]:
    return {k: v for k, v in error.trailing_metadata() or ()}


async def refused(call: Any) -> grpc.aio.AioRpcError:
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await call
    return caught.value


def failure_of(error: grpc.aio.AioRpcError) -> ipb.Failure:
    return ipb.Failure.FromString(trailers(error)["perdure-failure-bin"])


async def test_call_sends_the_body_key_metadata_and_content_type_to_the_backend(
    stub: Any, backend: FakeIngress
) -> None:
    returns(backend, Completed(INV, value(b"3"), "application/json"))
    answer = await stub.Call(
        ipb.CallRequest(service="Counter", handler="add", key="alice", body=b"2"),
        metadata=(("idempotency-key", "k1"), ("x-trace", "t1"), ("auth-bin", b"\x00")),
    )
    assert (answer.invocation_id, answer.json, answer.content_type) == (
        INV,
        "3",
        "application/json",
    )
    (request,) = backend.invoked
    assert (request.service, request.handler, request.key, request.body) == (
        "Counter",
        "add",
        "alice",
        b"2",
    )
    assert (request.idempotency_key, request.send, request.delay_ms) == ("k1", False, None)
    headers = dict(request.headers)
    assert headers["x-trace"] == "t1"
    assert headers["content-type"] == "application/json"  # the handler accepts JSON
    assert not {"idempotency-key", "auth-bin", "user-agent", "te"} & set(headers)
    assert not any(k.startswith(("grpc-", ":")) for k in headers)


async def test_json_text_is_the_body_and_a_non_json_answer_comes_back_as_bytes(
    stub: Any, backend: FakeIngress
) -> None:
    returns(backend, Completed(INV, value(b"\x00\xff"), "application/octet-stream"))
    answer = await stub.Call(ipb.CallRequest(service="Greeter", handler="greet", json='"Ann"'))
    assert backend.invoked[0].body == b'"Ann"'
    assert answer.WhichOneof("output") == "body"
    assert (answer.body, answer.content_type) == (b"\x00\xff", "application/octet-stream")


async def test_a_body_without_content_type_takes_the_type_the_handler_accepts(
    stub: Any, backend: FakeIngress
) -> None:
    returns(backend, Completed(INV, pb_void()))
    answer = await stub.Call(ipb.CallRequest(service="Files", handler="put", body=b"{not json"))
    assert dict(backend.invoked[0].headers)["content-type"] == "application/octet-stream"
    assert (answer.WhichOneof("output"), answer.content_type) == (None, "")


def pb_void() -> Any:
    from perdure_proto import protocol_pb2 as pb

    return pb.Result(void=pb.Void())


async def test_send_answers_accepted_previously_accepted_and_the_delayed_start(
    stub: Any, backend: FakeIngress
) -> None:
    outcomes: list[Outcome] = [
        Accepted(INV, previously=False, execution_time_ms=1_700_000_010_000),
        Accepted(INV, previously=True),
        Completed(INV, value(b"1")),  # repeated after it finished: still "previously"
    ]

    def on_invoke(request: InvokeRequest) -> Outcome:
        return outcomes.pop(0)

    backend.on_invoke = on_invoke
    request = ipb.SendRequest(service="Greeter", handler="greet", json='"a"', delay="10s")
    first = await stub.Send(request)
    assert (first.invocation_id, first.status, first.execution_time_ms) == (
        INV,
        ipb.SEND_STATUS_ACCEPTED,
        1_700_000_010_000,
    )
    assert (backend.invoked[0].send, backend.invoked[0].delay_ms) == (True, 10_000)
    for _ in range(2):
        again = await stub.Send(ipb.SendRequest(service="Greeter", handler="greet", json='"a"'))
        assert (again.invocation_id, again.status) == (INV, ipb.SEND_STATUS_PREVIOUSLY_ACCEPTED)


@pytest.mark.parametrize(
    ("request_fields", "metadata", "code", "status", "text"),
    [
        ({"service": "Nope", "handler": "x"}, (), grpc.StatusCode.NOT_FOUND, 404, "'Nope'"),
        ({"service": "Greeter", "handler": "x"}, (), grpc.StatusCode.NOT_FOUND, 404, "'x'"),
        ({"service": "Greeter", "handler": "secret"}, (), "INVALID_ARGUMENT", 400, "public"),
        ({"service": "Counter", "handler": "add"}, (), "INVALID_ARGUMENT", 400, "key"),
        (
            {"service": "Greeter", "handler": "greet", "key": "k"},
            (),
            "INVALID_ARGUMENT",
            400,
            "no key",
        ),
        ({"service": "Greeter", "handler": "greet"}, (), "INVALID_ARGUMENT", 400, "requires"),
        (
            {"service": "Greeter", "handler": "greet", "json": "{oops"},
            (),
            "INVALID_ARGUMENT",
            400,
            "not valid JSON",
        ),
        (
            {"service": "Greeter", "handler": "text", "body": b"hi", "content_type": "image/png"},
            (),
            "INVALID_ARGUMENT",
            415,
            "image/png",
        ),
        (
            {"service": "Signup", "handler": "run", "key": "w", "json": "1"},
            (("idempotency-key", "k"),),
            "INVALID_ARGUMENT",
            400,
            "workflow",
        ),
        (
            {"service": "Greeter", "handler": "greet", "json": "1"},
            (("idempotency-key", ""),),
            "INVALID_ARGUMENT",
            400,
            "empty",
        ),
    ],
)
async def test_requests_the_rules_refuse_never_reach_the_backend(
    stub: Any,
    backend: FakeIngress,
    request_fields: dict[str, Any],
    metadata: tuple[tuple[str, str], ...],
    code: Any,
    status: int,
    text: str,
) -> None:
    expected = code if isinstance(code, grpc.StatusCode) else grpc.StatusCode[code]
    error = await refused(stub.Call(ipb.CallRequest(**request_fields), metadata=metadata))
    assert error.code() == expected, error.details()
    assert text in (error.details() or "")
    found = failure_of(error)
    assert (found.code, found.source) == (status, "ingress")
    assert trailers(error)["perdure-error-code"] == str(status)
    assert backend.invoked == []


async def test_a_bad_delay_on_a_send_is_invalid_argument(stub: Any, backend: FakeIngress) -> None:
    request = ipb.SendRequest(service="Greeter", handler="greet", json="1", delay="soon")
    error = await refused(stub.Send(request))
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "delay" in (error.details() or "")
    assert backend.invoked == []


@pytest.mark.parametrize(
    ("rejected", "code"),
    [
        (Rejected(409, "the workflow's run was already invoked", INV), "ALREADY_EXISTS"),
        (Rejected(429, "too many requests"), "RESOURCE_EXHAUSTED"),
        (Rejected(503, "could not be made durable"), "UNAVAILABLE"),
        (Rejected(404, "handler not found"), "NOT_FOUND"),
        (Rejected(500, "broken"), "INTERNAL"),
    ],
)
async def test_backend_refusals_map_to_status_codes(
    stub: Any, backend: FakeIngress, rejected: Rejected, code: str
) -> None:
    returns(backend, rejected)
    error = await refused(stub.Call(ipb.CallRequest(service="Greeter", handler="greet", json="1")))
    assert (error.code(), error.details()) == (grpc.StatusCode[code], rejected.message)
    found = failure_of(error)
    assert (found.code, found.source, found.invocation_id) == (
        rejected.code,
        "ingress",
        rejected.invocation_id or "",
    )
    if rejected.invocation_id:
        assert trailers(error)["x-restate-id"] == rejected.invocation_id


@pytest.mark.parametrize(
    ("terminal_code", "code"),
    [(409, "ABORTED"), (500, "INTERNAL"), (418, "UNKNOWN"), (400, "INVALID_ARGUMENT")],
)
async def test_a_terminal_error_keeps_its_code_message_and_metadata_in_the_trailers(
    stub: Any, backend: FakeIngress, terminal_code: int, code: str
) -> None:
    returns(backend, Completed(INV, failure(terminal_code, "no tea", why="teapot")))
    error = await refused(stub.Call(ipb.CallRequest(service="Greeter", handler="greet", json="1")))
    assert (error.code(), error.details()) == (grpc.StatusCode[code], "no tea")
    found = failure_of(error)
    assert (found.code, found.message, dict(found.metadata)) == (
        terminal_code,
        "no tea",
        {"why": "teapot"},
    )
    assert (found.source, found.invocation_id) == ("invocation", INV)
    assert trailers(error)["perdure-error-source"] == "invocation"
    assert trailers(error)["perdure-error-code"] == str(terminal_code)


async def test_attach_and_output_address_invocations_three_ways(
    stub: Any, backend: FakeIngress
) -> None:
    done = Completed(INV, value(b'"hi"'), "application/json")
    by_idem = ByIdempotencyKey("Counter", "alice", "add", "k1")
    backend.attached[ById(INV)] = done
    backend.attached[by_idem] = done
    backend.outputs[ByWorkflow("Signup", "w1")] = done
    for method, target in (
        (stub.Attach, ipb.InvocationTarget(invocation_id=INV)),
        (
            stub.Attach,
            ipb.InvocationTarget(
                idempotent=ipb.IdempotentInvocation(
                    service="Counter", key="alice", handler="add", idempotency_key="k1"
                )
            ),
        ),
        (
            stub.Output,
            ipb.InvocationTarget(workflow=ipb.WorkflowInvocation(name="Signup", key="w1")),
        ),
    ):
        answer = await method(target)
        assert (answer.invocation_id, answer.json) == (INV, '"hi"')


async def test_output_of_a_running_invocation_is_failed_precondition_with_code_470(
    stub: Any, backend: FakeIngress
) -> None:
    backend.outputs[ById(INV)] = NotReady(INV)
    error = await refused(stub.Output(ipb.InvocationTarget(invocation_id=INV)))
    assert error.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert trailers(error)["perdure-error-code"] == "470"
    assert trailers(error)["x-restate-id"] == INV


@pytest.mark.parametrize(
    ("target", "code"),
    [
        (ipb.InvocationTarget(invocation_id="nope"), "INVALID_ARGUMENT"),
        (ipb.InvocationTarget(), "INVALID_ARGUMENT"),
        (ipb.InvocationTarget(invocation_id="inv_1unknown"), "NOT_FOUND"),
    ],
)
async def test_attach_refuses_bad_and_unknown_targets(
    stub: Any, target: ipb.InvocationTarget, code: str
) -> None:
    error = await refused(stub.Attach(target))
    assert error.code() == grpc.StatusCode[code]


async def test_awakeables_are_resolved_and_rejected_as_over_http(
    stub: Any, backend: FakeIngress
) -> None:
    backend.awakeables["sign_1a"] = None
    backend.awakeables["sign_1b"] = None
    await stub.ResolveAwakeable(ipb.ResolveAwakeableRequest(awakeable_id="sign_1a", json='"ok"'))
    await stub.RejectAwakeable(ipb.RejectAwakeableRequest(awakeable_id="sign_1b", message="no"))
    (a, resolved), (b, rejected) = backend.completed_awakeables
    assert (a, resolved.value) == ("sign_1a", b'"ok"')
    assert (b, rejected.failure.code, rejected.failure.message) == ("sign_1b", 500, "no")
    error = await refused(
        stub.ResolveAwakeable(ipb.ResolveAwakeableRequest(awakeable_id="sign_1x", body=b"1"))
    )
    assert error.code() == grpc.StatusCode.NOT_FOUND


async def test_health_is_serving_for_the_server_and_the_ingress_service(
    channel: grpc.aio.Channel,
) -> None:
    health = health_pb2_grpc.HealthStub(channel)
    for service in ("", "perdure.v1.Ingress"):
        answer = await health.Check(health_pb2.HealthCheckRequest(service=service))
        assert answer.status == health_pb2.HealthCheckResponse.SERVING
    error = await refused(health.Check(health_pb2.HealthCheckRequest(service="nope")))
    assert error.code() == grpc.StatusCode.NOT_FOUND


async def test_reflection_lists_the_services_and_describes_the_ingress(
    channel: grpc.aio.Channel,
) -> None:
    stub = reflection_pb2_grpc.ServerReflectionStub(channel)
    requests = [
        reflection_pb2.ServerReflectionRequest(list_services=""),
        reflection_pb2.ServerReflectionRequest(file_containing_symbol="perdure.v1.Ingress"),
    ]
    answers = [answer async for answer in stub.ServerReflectionInfo(iter(requests))]
    names = {s.name for s in answers[0].list_services_response.service}
    assert names == {
        "perdure.v1.Ingress",
        "grpc.health.v1.Health",
        "grpc.reflection.v1alpha.ServerReflection",
    }
    files = answers[1].file_descriptor_response.file_descriptor_proto
    assert any(b"perdure.v1" in f and b"ResolveAwakeable" in f for f in files)


async def test_a_port_in_use_is_refused_unless_both_servers_reuse_it(
    backend: FakeIngress, server: GrpcIngress
) -> None:
    taken = GrpcIngress(backend, GrpcIngressOptions(host="127.0.0.1", port=server.port))
    with pytest.raises(RuntimeError, match="cannot listen"):
        await taken.start()
    first = GrpcIngress(backend, GrpcIngressOptions(host="127.0.0.1", port=0, reuse_port=True))
    port = await first.start()
    second = GrpcIngress(backend, GrpcIngressOptions(host="127.0.0.1", port=port, reuse_port=True))
    try:
        assert await second.start() == port
    finally:
        await second.close()
        await first.close()


async def test_a_closed_server_reports_not_serving_then_stops(backend: FakeIngress) -> None:
    # A watch is an RPC in flight: the grace bounds how long it holds the server's stop.
    options = GrpcIngressOptions(host="127.0.0.1", port=0, shutdown_grace_s=0.2)
    server = GrpcIngress(backend, options)
    port = await server.start()
    async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as channel:
        health = health_pb2_grpc.HealthStub(channel)
        watch = health.Watch(health_pb2.HealthCheckRequest(service=""))
        first = await watch.read()
        assert first.status == health_pb2.HealthCheckResponse.SERVING
        await server.close()
        second = await watch.read()
        assert second.status == health_pb2.HealthCheckResponse.NOT_SERVING
        ingress = ipb_grpc.IngressStub(channel)  # type: ignore[no-untyped-call]
        error = await refused(ingress.Output(ipb.InvocationTarget()))
        assert error.code() == grpc.StatusCode.UNAVAILABLE


async def test_invocation_requests_are_counted_by_handler_and_http_status(
    backend: FakeIngress,
) -> None:
    counted: list[tuple[str, str, str]] = []
    outcomes: list[Outcome] = [
        Completed(INV, value(b"1")),
        Completed(INV, failure(418, "teapot")),
        Accepted(INV, previously=False),
        Rejected(503, "not durable"),
    ]

    def on_invoke(request: InvokeRequest) -> Outcome:
        return outcomes.pop(0)

    backend.on_invoke = on_invoke
    server = GrpcIngress(
        backend,
        GrpcIngressOptions(host="127.0.0.1", port=0),
        lambda *labels: counted.append(labels),
    )
    port = await server.start()
    try:
        async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as channel:
            stub = ipb_grpc.IngressStub(channel)  # type: ignore[no-untyped-call]
            greet: dict[str, Any] = {"service": "Greeter", "handler": "greet", "json": "1"}
            await stub.Call(ipb.CallRequest(**greet))
            await refused(stub.Call(ipb.CallRequest(**greet)))
            await stub.Send(ipb.SendRequest(**greet))
            await refused(stub.Send(ipb.SendRequest(**greet)))
            await refused(stub.Call(ipb.CallRequest(service="Greeter", handler="greet")))
            await refused(stub.Call(ipb.CallRequest(service="Nope", handler="x")))
    finally:
        await server.close()
    assert counted == [
        ("Greeter", "greet", "200"),
        ("Greeter", "greet", "418"),
        ("Greeter", "greet", "202"),
        ("Greeter", "greet", "503"),
        ("Greeter", "greet", "400"),  # refused by the rules: counted, never invoked
    ]  # an unknown handler is not counted (no label for what is not registered)
