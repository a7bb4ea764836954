"""The admin API over real HTTP against a fake AdminBackend: routes, shapes, errors."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from ingress.api import AdminError, CommandResult
from ingress.http import HttpServer, HttpServerOptions
from node.admin_api import AdminApi, admin_error
from node.admin_auth import with_admin_token
from perdure_proto import protocol_pb2 as pb
from tests.ingress.fakes import FakeAdmin

URI = "http://localhost:9080"


def manifest() -> pb.Manifest:
    greeter = pb.ServiceSpec(
        name="Greeter",
        ty=pb.SERVICE,
        documentation="Says hello",
        handlers=[
            pb.HandlerSpec(
                name="greet",
                input=pb.InputSpec(
                    present=True,
                    required=True,
                    content_type="application/json",
                    json_schema='{"type": "string"}',
                ),
                output=pb.OutputSpec(present=True, content_type="application/json"),
                options=pb.Options(inactivity_timeout_ms=30_000),
            ),
            pb.HandlerSpec(
                name="internal",
                options=pb.Options(ingress_private=True),
                metadata={"team": "core"},
            ),
        ],
        options=pb.Options(
            idempotency_retention_ms=3_600_000,
            retry_policy=pb.RetryPolicy(max_attempts=5, on_max_attempts=pb.KILL),
        ),
    )
    counter = pb.ServiceSpec(
        name="Counter",
        ty=pb.VIRTUAL_OBJECT,
        handlers=[
            pb.HandlerSpec(name="add", ty=pb.EXCLUSIVE),
            pb.HandlerSpec(name="get", ty=pb.SHARED),
        ],
    )
    signup = pb.ServiceSpec(
        name="Signup",
        ty=pb.WORKFLOW,
        handlers=[pb.HandlerSpec(name="run", ty=pb.WORKFLOW_RUN)],
        options=pb.Options(ingress_private=True),
    )
    return pb.Manifest(
        min_protocol_version=1,
        max_protocol_version=1,
        sdk_version="perdure-python/0.1.0",
        services=[greeter, counter, signup],
    )


@pytest.fixture
def backend() -> FakeAdmin:
    return FakeAdmin(discovered={URI: manifest()})


@pytest.fixture(params=["open", "with-token"])
async def client(
    backend: FakeAdmin, request: pytest.FixtureRequest
) -> AsyncIterator[httpx.AsyncClient]:
    """Every test runs on the open admin API and behind a bearer token (node/admin_auth.py),
    the client sending the token as Restate's CLI does."""
    token = "s3cret-token" if request.param == "with-token" else None
    server = HttpServer(
        with_admin_token(
            AdminApi(backend, ingress_endpoint="http://127.0.0.1:8080", version="1.2.3"), token
        ),
        HttpServerOptions(host="127.0.0.1", name="admin"),
        error_response=admin_error,
    )
    port = await server.start()
    headers = {"authorization": f"Bearer {token}"} if token else {}
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", headers=headers) as c:
        yield c
    await server.close()


def assert_admin_error(response: httpx.Response, status: int, text: str = "") -> None:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/json"
    body = response.json()
    assert set(body) == {"message", "restate_code"}
    assert text in body["message"]


async def register(client: httpx.AsyncClient, **extra: Any) -> httpx.Response:
    return await client.post("/deployments", json={"uri": URI, **extra})


async def test_register_creates_then_reports_unchanged(
    client: httpx.AsyncClient, backend: FakeAdmin
) -> None:
    response = await register(client, additional_headers={"x-token": "t"})
    assert response.status_code == 201
    body = response.json()
    assert body["id"] == "dp_1"
    assert response.headers["location"] == "deployments/dp_1"
    assert body["min_protocol_version"] == 1
    assert body["max_protocol_version"] == 1
    assert body["sdk_version"] == "perdure-python/0.1.0"
    assert [s["name"] for s in body["services"]] == ["Greeter", "Counter", "Signup"]
    assert backend.calls == [(URI, {"x-token": "t"}, False, False)]
    again = await register(client)
    assert again.status_code == 200
    assert again.json()["id"] == "dp_1"


async def test_register_flags_reach_the_backend(
    client: httpx.AsyncClient, backend: FakeAdmin
) -> None:
    response = await register(client, dry_run=True, force=True, use_http_11=False)
    assert response.status_code == 201
    assert backend.calls[-1] == (URI, {}, True, True)
    assert backend.deployments() == []
    assert response.json()["services"][0]["revision"] == 1
    await register(client, breaking=True)
    assert backend.calls[-1][2] is True


async def test_register_refusals(client: httpx.AsyncClient) -> None:
    assert_admin_error(await client.post("/deployments", content=b"{"), 400, "not valid JSON")
    assert_admin_error(await client.post("/deployments", json={}), 400, "'uri'")
    assert_admin_error(
        await client.post("/deployments", json={"uri": "localhost"}), 400, "absolute"
    )
    assert_admin_error(await client.post("/deployments", json={"arn": "arn:aws:x"}), 400, "Lambda")
    response = await client.post("/deployments", json={"uri": URI, "force": "yes"})
    assert_admin_error(response, 400, "'force'")
    response = await client.post("/deployments", json={"uri": "http://nowhere:1"})
    assert_admin_error(response, 400, "cannot reach")


async def test_incompatible_reregistration_is_the_backend_conflict(
    client: httpx.AsyncClient, backend: FakeAdmin
) -> None:
    await register(client)
    changed = manifest()
    del changed.services[1].handlers[1]
    backend.discovered[URI] = changed
    assert_admin_error(await register(client), 409, "incompatibly")
    assert (await register(client, force=True)).status_code == 200


async def test_list_and_get_deployments(client: httpx.AsyncClient) -> None:
    await register(client, additional_headers={"x-token": "t"})
    listed = (await client.get("/deployments")).json()["deployments"]
    assert len(listed) == 1
    dep = listed[0]
    assert dep["id"] == "dp_1"
    assert dep["uri"] == URI
    assert dep["additional_headers"] == {"x-token": "t"}
    assert dep["created_at"] == "2023-11-14T22:13:20.000Z"
    assert dep["services"] == [
        {"name": "Greeter", "revision": 1},
        {"name": "Counter", "revision": 1},
        {"name": "Signup", "revision": 1},
    ]
    detailed = (await client.get("/deployments/dp_1")).json()
    assert detailed["services"][1]["name"] == "Counter"
    assert detailed["services"][1]["ty"] == "VirtualObject"
    assert_admin_error(await client.get("/deployments/dp_9"), 404, "'dp_9' does not exist")


async def test_service_shape(client: httpx.AsyncClient) -> None:
    await register(client)
    greeter = (await client.get("/services/Greeter")).json()
    assert greeter["name"] == "Greeter"
    assert greeter["ty"] == "Service"
    assert greeter["documentation"] == "Says hello"
    assert greeter["deployment_id"] == "dp_1"
    assert greeter["revision"] == 1
    assert greeter["public"] is True
    assert greeter["idempotency_retention"] == "1 hour"
    assert greeter["inactivity_timeout"] == "1 minute"
    assert greeter["abort_timeout"] == "10 minutes"  # the invoker's default
    assert "workflow_completion_retention" not in greeter
    assert greeter["retry_policy"]["max_attempts"] == 5
    assert greeter["retry_policy"]["on_max_attempts"] == "Kill"
    # Unset parts of the policy are the invoker's defaults (Restate's: 500 ms, x2, 60 s, 70).
    assert greeter["retry_policy"]["initial_interval"] == "500 milliseconds"
    assert greeter["retry_policy"]["max_interval"] == "1 minute"
    greet, internal = greeter["handlers"]
    assert "ty" not in greet  # plain Service handlers have no handler type
    assert greet["public"] is True
    assert greet["input_json_schema"] == {"type": "string"}
    assert "application/json" in greet["input_description"]
    assert greet["inactivity_timeout"] == "30 seconds"
    assert internal["public"] is False
    assert internal["metadata"] == {"team": "core"}
    assert internal["input_description"] == "none"


async def test_service_kinds_and_handler_types(client: httpx.AsyncClient) -> None:
    await register(client)
    services = {s["name"]: s for s in (await client.get("/services")).json()["services"]}
    assert services["Counter"]["ty"] == "VirtualObject"
    assert [h["ty"] for h in services["Counter"]["handlers"]] == ["Exclusive", "Shared"]
    signup = services["Signup"]
    assert signup["ty"] == "Workflow"
    assert signup["public"] is False
    assert signup["workflow_completion_retention"] == "1 day"
    assert signup["handlers"][0]["ty"] == "Workflow"


async def test_handlers_routes(client: httpx.AsyncClient) -> None:
    await register(client)
    handlers = (await client.get("/services/Counter/handlers")).json()["handlers"]
    assert [h["name"] for h in handlers] == ["add", "get"]
    assert (await client.get("/services/Counter/handlers/get")).json()["ty"] == "Shared"
    assert_admin_error(await client.get("/services/Counter/handlers/nope"), 404, "'nope'")
    assert_admin_error(await client.get("/services/Nope"), 404, "'Nope' does not exist")
    assert_admin_error(await client.get("/services/Nope/handlers"), 404)


async def test_health_version_and_prefixes(client: httpx.AsyncClient) -> None:
    assert (await client.get("/health")).status_code == 200
    version = (await client.get("/version")).json()
    # Restate's API level, Perdure's version as build metadata: the restate CLI negotiates v4
    # and picks its post-1.5 SQL by this version.
    assert version == {
        "version": "1.7.6+perdure.1.2.3",
        "min_admin_api_version": 2,
        "max_admin_api_version": 4,
        "ingress_endpoint": "http://127.0.0.1:8080",
        "features": {},
    }
    await register(client)
    assert (await client.get("/v3/services")).status_code == 200
    assert (await client.get("/v2/deployments/dp_1")).status_code == 200
    assert (await client.get("/v4/services")).status_code == 200
    assert_admin_error(
        await client.get("/v1/services"),
        400,
        "Unsupported Admin API version V1. This server supports versions between V2 and V4.",
    )
    assert_admin_error(await client.post("/v5/query", json={"query": "SELECT 1"}), 400, "V5")


async def test_unknown_path_and_wrong_method(client: httpx.AsyncClient) -> None:
    assert_admin_error(await client.get("/nope"), 404)
    assert_admin_error(await client.get("/"), 404)
    response = await client.put("/services")
    assert_admin_error(response, 405)
    assert response.headers["allow"] == "GET"
    assert_admin_error(await client.delete("/deployments"), 405)
    assert_admin_error(await client.put("/deployments/dp_1"), 501)


async def test_delete_deployment_and_post_state_reach_the_backend(
    client: httpx.AsyncClient, backend: FakeAdmin
) -> None:
    assert_admin_error(await client.delete("/v4/deployments/dp_9?force=true"), 404)
    assert_admin_error(await client.delete("/deployments/dp_1?force=maybe"), 400, "force")
    edit = {"version": "abc", "object_key": "alice", "new_state": {"count": [51]}}
    assert (await client.post("/v4/services/Counter/state", json=edit)).status_code == 202
    assert backend.state_edits == [("Counter", "alice", "abc", {"count": b"3"})]
    bad = {"object_key": "alice", "new_state": {"count": "3"}}
    assert_admin_error(await client.post("/services/Counter/state", json=bad), 400, "new_state")
    assert_admin_error(await client.get("/services/Counter/state"), 405)


async def test_backend_crash_is_a_500_in_the_admin_error_shape(
    client: httpx.AsyncClient, backend: FakeAdmin
) -> None:
    def broken() -> list[Any]:
        raise RuntimeError("store exploded at 0xdeadbeef")

    backend.services = broken  # type: ignore[method-assign]
    response = await client.get("/services")
    assert_admin_error(response, 500, "internal error")
    assert "0xdeadbeef" not in response.text


# ---------------------------------------------------------------------- invocation commands

INV = "inv_1abc"


@pytest.mark.parametrize(
    ("command", "status"),
    [
        ("cancel", 202),
        ("cancel", 200),
        ("kill", 200),
        ("pause", 202),
        ("pause", 200),
        ("resume", 200),
        ("purge", 200),
        ("purge-journal", 200),
    ],
)
async def test_invocation_command_answers_the_backend_status_with_an_empty_body(
    client: httpx.AsyncClient, backend: FakeAdmin, command: str, status: int
) -> None:
    backend.invocations[INV] = CommandResult(status)
    response = await client.patch(f"/invocations/{INV}/{command}")
    assert response.status_code == status, response.text
    assert response.content == b""
    assert "content-type" not in response.headers
    assert backend.commands == [(INV, command, None)]


async def test_restart_as_new_returns_the_new_invocation_id(
    client: httpx.AsyncClient, backend: FakeAdmin
) -> None:
    backend.invocations[INV] = CommandResult(200, {"new_invocation_id": "inv_1new"})
    response = await client.patch(f"/v3/invocations/{INV}/restart-as-new")
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    assert response.json() == {"new_invocation_id": "inv_1new"}
    response = await client.patch(f"/invocations/{INV}/restart-as-new?from=0&deployment=latest")
    assert response.status_code == 200
    assert backend.commands == [(INV, "restart-as-new", None)] * 2


async def test_restart_as_new_from_a_journal_prefix_is_refused(
    client: httpx.AsyncClient, backend: FakeAdmin
) -> None:
    backend.invocations[INV] = CommandResult(200, {"new_invocation_id": "inv_1new"})
    response = await client.patch(f"/invocations/{INV}/restart-as-new?from=3")
    assert_admin_error(response, 400, "not supported")
    for bad in ("x", "-1", "²"):
        response = await client.patch(f"/invocations/{INV}/restart-as-new", params={"from": bad})
        assert_admin_error(response, 400, "'from'")
    assert backend.commands == []


@pytest.mark.parametrize(
    ("query", "deployment"),
    [
        ("", None),
        ("?deployment=latest", "latest"),
        ("?deployment=Latest", "latest"),
        ("?deployment=keep", "keep"),
        ("?deployment=Keep", "keep"),
        ("?deployment=dp_1xyz", "dp_1xyz"),
    ],
)
async def test_resume_passes_the_deployment_choice(
    client: httpx.AsyncClient, backend: FakeAdmin, query: str, deployment: str | None
) -> None:
    backend.invocations[INV] = CommandResult(200)
    response = await client.patch(f"/invocations/{INV}/resume{query}")
    assert response.status_code == 200, response.text
    assert backend.commands == [(INV, "resume", deployment)]


@pytest.mark.parametrize("bad", ["", "newest", "dp_", "dp_a-b", "dp_1é", "inv_1abc"])
async def test_resume_with_a_bad_deployment_is_400(
    client: httpx.AsyncClient, backend: FakeAdmin, bad: str
) -> None:
    backend.invocations[INV] = CommandResult(200)
    response = await client.patch(f"/invocations/{INV}/resume", params={"deployment": bad})
    assert_admin_error(response, 400, "'deployment'")
    assert backend.commands == []


async def test_deployment_is_only_passed_to_resume(
    client: httpx.AsyncClient, backend: FakeAdmin
) -> None:
    backend.invocations[INV] = CommandResult(202)
    response = await client.patch(f"/invocations/{INV}/pause?deployment=latest")
    assert response.status_code == 202
    assert backend.commands == [(INV, "pause", None)]


@pytest.mark.parametrize(
    ("code", "message"),
    [
        (400, "the invocation is not paused"),
        (409, "The invocation 'inv_1abc' was already completed."),
        (409, "The invocation 'inv_1abc' is not yet completed."),
        (425, "The invocation 'inv_1abc' is either inboxed or scheduled, cannot be resumed."),
        (503, "no leader for partition 3"),
    ],
)
async def test_command_refusals_are_admin_errors_with_the_backend_code(
    client: httpx.AsyncClient, backend: FakeAdmin, code: int, message: str
) -> None:
    backend.invocations[INV] = AdminError(code, message)
    assert_admin_error(await client.patch(f"/invocations/{INV}/purge"), code, message)


async def test_unknown_invocation_is_404(client: httpx.AsyncClient, backend: FakeAdmin) -> None:
    response = await client.patch("/invocations/inv_1missing/kill")
    assert_admin_error(response, 404, "'inv_1missing' does not exist")
    assert backend.commands == [("inv_1missing", "kill", None)]


@pytest.mark.parametrize("bad", ["nope", "inv_", "inv_1a-b", "inv_1é", "dp_1abc"])
async def test_malformed_invocation_id_is_400_before_the_backend(
    client: httpx.AsyncClient, backend: FakeAdmin, bad: str
) -> None:
    assert_admin_error(await client.patch(f"/invocations/{bad}/cancel"), 400, "invocation_id")
    assert_admin_error(await client.delete(f"/invocations/{bad}"), 400, "invocation_id")
    assert backend.commands == []


async def test_invocation_routes_methods_and_unknown_commands(
    client: httpx.AsyncClient, backend: FakeAdmin
) -> None:
    backend.invocations[INV] = CommandResult(200)
    for method in ("GET", "POST", "PUT", "DELETE"):
        response = await client.request(method, f"/invocations/{INV}/kill")
        assert_admin_error(response, 405)
        assert response.headers["allow"] == "PATCH"
    response = await client.patch(f"/invocations/{INV}")
    assert_admin_error(response, 405)
    assert response.headers["allow"] == "DELETE"
    assert_admin_error(await client.patch(f"/invocations/{INV}/terminate"), 404)
    assert_admin_error(await client.patch(f"/invocations/{INV}/kill/now"), 404)
    assert_admin_error(await client.get("/invocations"), 404)
    assert backend.commands == []


@pytest.mark.parametrize(
    ("query", "command"),
    [
        ("", "cancel"),
        ("?mode=cancel", "cancel"),
        ("?mode=kill", "kill"),
        ("?mode=Kill", "kill"),
        ("?mode=purge", "purge"),
    ],
)
async def test_deprecated_delete_maps_its_mode_and_answers_202(
    client: httpx.AsyncClient, backend: FakeAdmin, query: str, command: str
) -> None:
    backend.invocations[INV] = CommandResult(200)
    response = await client.delete(f"/invocations/{INV}{query}")
    assert response.status_code == 202, response.text
    assert response.content == b""
    assert backend.commands == [(INV, command, None)]


async def test_deprecated_delete_refusals(client: httpx.AsyncClient, backend: FakeAdmin) -> None:
    backend.invocations[INV] = CommandResult(200)
    assert_admin_error(await client.delete(f"/invocations/{INV}?mode=pause"), 400, "'mode'")
    assert backend.commands == []
    backend.invocations[INV] = AdminError(409, "The invocation 'inv_1abc' is not yet completed.")
    response = await client.delete(f"/invocations/{INV}?mode=purge")
    assert_admin_error(response, 409, "not yet completed")
    assert_admin_error(await client.delete("/invocations/inv_1gone"), 404, "does not exist")
