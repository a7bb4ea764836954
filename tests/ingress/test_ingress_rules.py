"""Restate's ingress rules over real HTTP: status codes, JSON bodies, headers."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

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
from ingress.handlers import IngressHandler
from ingress.http import HttpServer, HttpServerOptions
from ingress.responses import ingress_error
from tests.ingress.fakes import FakeIngress, failure, handler_info, value

INV = "inv_1abc"


def make_backend() -> FakeIngress:
    return (
        FakeIngress()
        .add(handler_info("Greeter", "greet", input_required=True))
        .add(handler_info("Greeter", "any", accept="*/*", output_content_type=None))
        .add(handler_info("Greeter", "text", accept="text/*", output_content_type="text/plain"))
        .add(handler_info("Greeter", "noinput", input_present=False, output_content_type=None))
        .add(handler_info("Greeter", "secret", public=False))
        .add(handler_info("Counter", "add", "virtual_object", "exclusive"))
        .add(handler_info("Signup", "run", "workflow", "workflow"))
        .add(handler_info("Signup", "status", "workflow", "shared"))
    )


@pytest.fixture
def backend() -> FakeIngress:
    return make_backend()


@pytest.fixture
async def client(backend: FakeIngress) -> AsyncIterator[httpx.AsyncClient]:
    server = HttpServer(
        IngressHandler(backend),
        HttpServerOptions(host="127.0.0.1", name="ingress"),
        error_response=ingress_error,
    )
    port = await server.start()
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as c:
        yield c
    await server.close()


def assert_ingress_error(response: httpx.Response, status: int, text: str = "") -> None:
    assert response.status_code == status, response.text
    assert response.headers["x-restate-error-source"] == "ingress"
    assert response.headers["content-type"] == "application/json"
    body = response.json()
    assert body["code"] == status
    assert body["source"] == "ingress"
    assert text in body["message"]


def returns(backend: FakeIngress, outcome: Outcome) -> None:
    def on_invoke(request: InvokeRequest) -> Outcome:
        return outcome

    backend.on_invoke = on_invoke


JSON = {"content-type": "application/json"}


async def test_call_returns_output_with_ids_and_content_type(client: httpx.AsyncClient) -> None:
    response = await client.post("/Greeter/greet", content=b'{"n":1}', headers=JSON)
    assert response.status_code == 200
    assert response.content == b'{"n":1}'
    assert response.headers["content-type"] == "application/json"
    assert response.headers["x-restate-id"] == "inv_1echo"
    assert response.headers["x-perdure-id"] == "inv_1echo"


async def test_completed_content_type_wins_and_empty_output_has_none(
    client: httpx.AsyncClient, backend: FakeIngress
) -> None:
    returns(backend, Completed(INV, value(b"hi"), content_type="text/x-custom"))
    response = await client.post("/Greeter/greet", content=b"1", headers=JSON)
    assert response.headers["content-type"] == "text/x-custom"
    returns(backend, Completed(INV, value(b"")))
    response = await client.post("/Greeter/greet", content=b"1", headers=JSON)
    assert response.status_code == 200
    assert "content-type" not in response.headers


async def test_set_content_type_if_empty_applies_to_void(backend: FakeIngress) -> None:
    backend.add(handler_info("Greeter", "v", set_content_type_if_empty=True))
    returns(backend, Completed(INV, value(b"")))
    async with _serve(backend) as c:
        response = await c.post("/Greeter/v")
    assert response.headers["content-type"] == "application/json"


async def test_keyed_call_passes_the_decoded_key(
    client: httpx.AsyncClient, backend: FakeIngress
) -> None:
    response = await client.post("/Counter/a%20b/add", content=b"5", headers=JSON)
    assert response.status_code == 200
    assert backend.invoked[-1].key == "a b"
    assert backend.invoked[-1].service == "Counter"


async def test_terminal_failure_uses_its_code_and_invocation_source(
    client: httpx.AsyncClient, backend: FakeIngress
) -> None:
    returns(backend, Completed(INV, failure(409, "already there", reason="dup")))
    response = await client.post("/Greeter/greet", content=b"1", headers=JSON)
    assert response.status_code == 409
    assert response.headers["x-restate-error-source"] == "invocation"
    assert response.headers["x-restate-id"] == INV
    assert response.json() == {
        "code": 409,
        "message": "already there",
        "metadata": {"reason": "dup"},
        "source": "invocation",
    }


async def test_terminal_failure_without_code_is_500(
    client: httpx.AsyncClient, backend: FakeIngress
) -> None:
    returns(backend, Completed(INV, failure(0, "boom")))
    response = await client.post("/Greeter/greet", content=b"1", headers=JSON)
    assert response.status_code == 500
    assert response.json() == {"code": 500, "message": "boom", "source": "invocation"}


async def test_send_is_202_with_invocation_id(
    client: httpx.AsyncClient, backend: FakeIngress
) -> None:
    returns(backend, Accepted(INV, previously=False))
    response = await client.post("/Greeter/greet/send", content=b"1", headers=JSON)
    assert response.status_code == 202
    assert response.json() == {"invocationId": INV, "status": "Accepted"}
    assert response.headers["x-restate-id"] == INV
    assert backend.invoked[-1].send is True


async def test_repeated_send_is_previously_accepted(
    client: httpx.AsyncClient, backend: FakeIngress
) -> None:
    returns(backend, Completed(INV, value(b"old")))
    response = await client.post(
        "/Greeter/greet/send", content=b"1", headers={**JSON, "idempotency-key": "k"}
    )
    assert response.status_code == 202
    assert response.json()["status"] == "PreviouslyAccepted"


@pytest.mark.parametrize(
    ("delay", "ms"), [("PT10S", 10_000), ("10s", 10_000), ("1m30s", 90_000), ("1500", 1_500)]
)
async def test_delayed_send_reports_execution_time(
    client: httpx.AsyncClient, backend: FakeIngress, delay: str, ms: int
) -> None:
    returns(backend, Accepted(INV, previously=False, execution_time_ms=1_700_000_000_000))
    response = await client.post(
        "/Counter/k/add/send", params={"delay": delay}, content=b"1", headers=JSON
    )
    assert response.status_code == 202
    assert response.json()["executionTime"] == "2023-11-14T22:13:20.000Z"
    assert backend.invoked[-1].delay_ms == ms


async def test_delay_on_a_call_is_400(client: httpx.AsyncClient) -> None:
    response = await client.post("/Greeter/greet?delay=10s", content=b"1", headers=JSON)
    assert_ingress_error(response, 400, "delay")


@pytest.mark.parametrize(
    "delay",
    [
        "soon",
        "99999999999999d",
        "PT1000000000H",
        "9" * 30,
        "9" * 400 + "s",  # float('9' * 400) is inf: round() would raise OverflowError
        "P" + "9" * 400 + "D",
        "-5s",
        "-1",
        "\u0661\u0662",  # digits, but not ASCII ones
        "1e3s",
    ],
)
async def test_bad_or_absurd_delay_is_400_naming_it(
    client: httpx.AsyncClient, backend: FakeIngress, delay: str
) -> None:
    before = len(backend.invoked)
    response = await client.post(
        "/Counter/k/add/send", params={"delay": delay}, content=b"1", headers=JSON
    )
    assert_ingress_error(response, 400, "delay")
    assert len(backend.invoked) == before  # refused before anything is journaled


async def test_new_style_call_and_send_paths(
    client: httpx.AsyncClient, backend: FakeIngress
) -> None:
    response = await client.post("/restate/call/Counter/k/add", content=b"1", headers=JSON)
    assert response.status_code == 200
    returns(backend, Accepted(INV, previously=False))
    response = await client.post("/restate/send/Greeter/greet", content=b"1", headers=JSON)
    assert response.status_code == 202


async def test_get_is_allowed_and_other_methods_are_405(client: httpx.AsyncClient) -> None:
    assert (await client.get("/Greeter/noinput")).status_code == 200
    response = await client.put("/Greeter/noinput")
    assert_ingress_error(response, 405, "method not allowed")
    assert response.headers["allow"] == "GET, POST"
    assert (await client.delete("/Counter/k/add")).status_code == 405


async def test_unknown_service_and_handler_are_404(client: httpx.AsyncClient) -> None:
    assert_ingress_error(await client.post("/Nope/greet"), 404, "service 'Nope' not found")
    assert_ingress_error(await client.post("/Greeter/nope"), 404, "handler 'nope'")


async def test_bad_service_path_is_400(client: httpx.AsyncClient) -> None:
    assert_ingress_error(await client.post("/Counter/add"), 400, "bad path")


async def test_private_handler_is_400(client: httpx.AsyncClient) -> None:
    response = await client.post("/Greeter/secret", content=b"1", headers=JSON)
    assert_ingress_error(response, 400, "the invoked service is not public")


async def test_idempotency_key_is_passed_on_and_not_forwarded_as_header(
    client: httpx.AsyncClient, backend: FakeIngress
) -> None:
    await client.post(
        "/Greeter/greet",
        content=b"1",
        headers={**JSON, "Idempotency-Key": "abc", "X-Custom": "v", "Authorization": "t"},
    )
    request = backend.invoked[-1]
    assert request.idempotency_key == "abc"
    names = [name for name, _ in request.headers]
    assert "idempotency-key" not in names
    assert "host" not in names and "content-length" not in names
    assert ("x-custom", "v") in request.headers
    assert ("content-type", "application/json") in request.headers
    assert ("x-restate-ingress-path", "/Greeter/greet") in request.headers


async def test_idempotency_key_on_workflow_run_is_400(client: httpx.AsyncClient) -> None:
    response = await client.post("/Signup/u1/run", headers={"idempotency-key": "k"})
    assert_ingress_error(response, 400, "idempotency key")


@pytest.mark.parametrize("key", ["", "k" * 1025])
async def test_empty_or_overlong_idempotency_key_is_400_naming_it(
    client: httpx.AsyncClient, backend: FakeIngress, key: str
) -> None:
    response = await client.post(
        "/Greeter/greet", content=b"1", headers={**JSON, "idempotency-key": key}
    )
    assert_ingress_error(response, 400, "idempotency-key")
    assert backend.invoked == []  # refused before anything is journaled


async def test_idempotency_key_on_workflow_shared_handler_is_allowed(
    client: httpx.AsyncClient,
) -> None:
    response = await client.post("/Signup/u1/status", headers={"idempotency-key": "k"})
    assert response.status_code == 200


async def test_unaccepted_content_type_is_415(client: httpx.AsyncClient) -> None:
    response = await client.post(
        "/Greeter/greet", content=b"hi", headers={"content-type": "text/plain"}
    )
    assert_ingress_error(response, 415, "text/plain")
    response = await client.post("/Greeter/greet", content=b"hi", headers={"content-type": ""})
    assert response.status_code == 415


async def test_wildcard_accept_matches(client: httpx.AsyncClient) -> None:
    response = await client.post(
        "/Greeter/text", content=b"hi", headers={"content-type": "text/markdown; charset=utf-8"}
    )
    assert response.status_code == 200
    response = await client.post(
        "/Greeter/any", content=b"\x00\x01", headers={"content-type": "application/octet-stream"}
    )
    assert response.status_code == 200


async def test_missing_required_input_is_400(client: httpx.AsyncClient) -> None:
    assert_ingress_error(await client.post("/Greeter/greet"), 400, "requires an input")


async def test_malformed_json_body_is_400(client: httpx.AsyncClient) -> None:
    response = await client.post("/Greeter/greet", content=b'{"a": ', headers=JSON)
    assert_ingress_error(response, 400, "not valid JSON")


async def test_body_to_a_handler_without_input_is_dropped(
    client: httpx.AsyncClient, backend: FakeIngress
) -> None:
    response = await client.post(
        "/Greeter/noinput", content=b"junk", headers={"content-type": "text/plain"}
    )
    assert response.status_code == 200
    assert backend.invoked[-1].body == b""


async def test_rejected_outcome_uses_its_code(
    client: httpx.AsyncClient, backend: FakeIngress
) -> None:
    returns(backend, Rejected(503, "partition unavailable, retry with an idempotency key"))
    response = await client.post("/Greeter/greet", content=b"1", headers=JSON)
    assert_ingress_error(response, 503, "partition unavailable")


async def test_attach_and_output_by_id(client: httpx.AsyncClient, backend: FakeIngress) -> None:
    backend.attached[ById(INV)] = Completed(INV, value(b"42"), content_type="application/json")
    backend.outputs[ById(INV)] = NotReady(INV)
    response = await client.get(f"/restate/invocation/{INV}/attach")
    assert response.status_code == 200
    assert response.content == b"42"
    assert response.headers["x-restate-id"] == INV
    response = await client.get(f"/restate/invocation/{INV}/output")
    assert_ingress_error(response, 470, "the invocation exists but has not completed yet")
    assert response.headers["x-perdure-id"] == INV
    assert_ingress_error(await client.get("/restate/output/inv_1zzz"), 404)


async def test_attach_by_idempotency_key_uses_the_handler_output_type(
    client: httpx.AsyncClient, backend: FakeIngress
) -> None:
    ref = ByIdempotencyKey("Counter", "k", "add", "ik")
    backend.attached[ref] = Completed(INV, value(b"7"), idempotency_expires_ms=1_700_000_000_000)
    response = await client.get("/restate/invocation/Counter/k/add/ik/attach")
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    assert response.headers["idempotency-expires"] == "2023-11-14T22:13:20.000Z"


async def test_workflow_attach(client: httpx.AsyncClient, backend: FakeIngress) -> None:
    backend.outputs[ByWorkflow("Signup", "u 1")] = Completed(INV, value(b"done"))
    response = await client.get("/restate/workflow/Signup/u%201/output")
    assert response.status_code == 200
    assert response.content == b"done"


async def test_attach_only_accepts_get(client: httpx.AsyncClient) -> None:
    assert_ingress_error(await client.post(f"/restate/attach/{INV}"), 405)


async def test_post_attach_output_lookup_with_json_body(
    client: httpx.AsyncClient, backend: FakeIngress
) -> None:
    backend.attached[ByWorkflow("Signup", "u1")] = Completed(INV, value(b"ok"))
    backend.outputs[ByIdempotencyKey("Greeter", None, "greet", "ik")] = NotReady(INV)
    response = await client.post(
        "/restate/attach",
        json={"target": "workflow", "workflowName": "Signup", "workflowKey": "u1"},
    )
    assert response.status_code == 200
    assert response.content == b"ok"
    target = {
        "target": "idempotentInvocation",
        "service": "Greeter",
        "handler": "greet",
        "idempotencyKey": "ik",
    }
    assert (await client.post("/restate/output", json=target)).status_code == 470
    response = await client.post("/restate/lookup", json=target)
    assert response.status_code == 200
    assert response.json() == {"invocationId": INV}
    response = await client.post("/restate/lookup", json={"target": "invocation"})
    assert_ingress_error(response, 400, "invocationId")
    response = await client.post("/restate/lookup", content=b"nope")
    assert_ingress_error(response, 400, "not valid JSON")
    response = await client.post("/restate/attach", json={"target": "elsewhere"})
    assert_ingress_error(response, 400, "target")


async def test_health_and_openapi(client: httpx.AsyncClient) -> None:
    assert (await client.get("/restate/health")).status_code == 200
    assert_ingress_error(await client.get("/openapi"), 404)


AWK = "sign_1abc"


def assert_accepted_empty(response: httpx.Response) -> None:
    assert response.status_code == 202, response.text
    assert response.content == b""
    assert "content-type" not in response.headers


@pytest.mark.parametrize("prefix", ["/restate/awakeables", "/restate/a"])
async def test_resolve_awakeable_passes_the_raw_body_as_value(
    client: httpx.AsyncClient, backend: FakeIngress, prefix: str
) -> None:
    backend.awakeables[AWK] = None
    body = b'{"approved": true}'
    assert_accepted_empty(await client.post(f"{prefix}/{AWK}/resolve", content=body, headers=JSON))
    assert_accepted_empty(await client.post(f"{prefix}/{AWK}/resolve/"))  # empty body: b""
    assert backend.completed_awakeables == [(AWK, value(body)), (AWK, value(b""))]


@pytest.mark.parametrize("prefix", ["/restate/awakeables", "/restate/a"])
async def test_reject_awakeable_is_a_500_failure_with_the_body_as_message(
    client: httpx.AsyncClient, backend: FakeIngress, prefix: str
) -> None:
    backend.awakeables[AWK] = None
    response = await client.post(f"{prefix}/{AWK}/reject", content="card declined ✗".encode())
    assert_accepted_empty(response)
    assert_accepted_empty(await client.post(f"{prefix}/{AWK}/reject", content=b"bad \xff byte"))
    assert backend.completed_awakeables == [
        (AWK, failure(500, "card declined ✗")),
        (AWK, failure(500, "bad \ufffd byte")),
    ]


async def test_awakeable_refusals_use_the_backend_code_and_the_ingress_shape(
    client: httpx.AsyncClient, backend: FakeIngress
) -> None:
    response = await client.post("/restate/awakeables/sign_1unknown/resolve", content=b"1")
    assert_ingress_error(response, 404, "sign_1unknown")
    backend.awakeables["garbage"] = Rejected(400, "bad awakeable id 'garbage'")
    response = await client.post("/restate/a/garbage/reject", content=b"no")
    assert_ingress_error(response, 400, "bad awakeable id 'garbage'")
    backend.awakeables["prom_1done"] = Rejected(409, "already completed", INV)
    response = await client.post("/restate/awakeables/prom_1done/resolve")
    assert_ingress_error(response, 409, "already completed")
    assert response.headers["x-restate-id"] == INV
    assert backend.completed_awakeables == []


async def test_awakeable_paths_and_methods(client: httpx.AsyncClient, backend: FakeIngress) -> None:
    backend.awakeables[AWK] = None
    for method in ("GET", "PUT", "DELETE", "PATCH"):
        response = await client.request(method, f"/restate/awakeables/{AWK}/resolve")
        assert_ingress_error(response, 405)
        assert response.headers["allow"] == "POST"
    assert_ingress_error(await client.get(f"/restate/a/{AWK}/reject"), 405)
    assert_ingress_error(await client.post(f"/restate/awakeables/{AWK}"), 400, "expected")
    assert_ingress_error(await client.post("/restate/awakeables//resolve"), 400, "expected")
    assert_ingress_error(await client.post(f"/restate/a/{AWK}/x/resolve"), 400, "expected")
    assert_ingress_error(await client.post(f"/restate/a/{AWK}/complete"), 404)
    assert backend.completed_awakeables == []


async def test_server_level_errors_use_the_ingress_shape(backend: FakeIngress) -> None:
    server = HttpServer(
        IngressHandler(backend),
        HttpServerOptions(host="127.0.0.1", max_body_bytes=10),
    )  # no error_response given: the server picks up the handler's
    port = await server.start()
    try:
        async with httpx.AsyncClient() as c:
            response = await c.post(
                f"http://127.0.0.1:{port}/Greeter/greet", content=b"x" * 100, headers=JSON
            )
        assert_ingress_error(response, 413, "too large")
    finally:
        await server.close()


class _serve:
    """Serve `backend` for one test body: `async with _serve(backend) as client:`."""

    def __init__(self, backend: FakeIngress) -> None:
        self._server = HttpServer(
            IngressHandler(backend),
            HttpServerOptions(host="127.0.0.1"),
            error_response=ingress_error,
        )
        self._client: httpx.AsyncClient | None = None

    async def __aenter__(self) -> httpx.AsyncClient:
        port = await self._server.start()
        self._client = httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}")
        return self._client

    async def __aexit__(self, *exc: object) -> None:
        if self._client is not None:
            await self._client.aclose()
        await self._server.close()
