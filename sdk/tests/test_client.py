"""The typed ingress client's wire format (httpx with a mock transport, no server)."""

from __future__ import annotations

import json
from datetime import timedelta

import httpx
import pytest

import perdure as restate
from perdure import Context, ObjectContext
from perdure.client import _HttpClient

svc = restate.Service("Greeter")


@svc.handler()
async def greet(ctx: Context, name: str) -> str:
    return name


obj = restate.VirtualObject("Counter")


@obj.handler()
async def add(ctx: ObjectContext, n: int) -> int:
    return n


def make_client(seen: list[httpx.Request], status: int = 200) -> _HttpClient:
    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        if status >= 400:
            return httpx.Response(status, json={"code": status, "message": "bad amount"})
        if request.url.path.endswith("/output"):
            return httpx.Response(470, json={"code": 470, "message": "not ready"})
        if request.url.path.endswith("/attach"):
            return httpx.Response(200, json={"n": 1})
        if request.url.path.endswith("/send"):
            return httpx.Response(202, json={"invocationId": "inv_1", "status": "Accepted"})
        return httpx.Response(200, content=request.content)

    http = httpx.AsyncClient(base_url="http://ingress", transport=httpx.MockTransport(handler))
    return _HttpClient(http, None)


async def test_calls_post_to_the_handler_path_with_its_serde() -> None:
    seen: list[httpx.Request] = []
    client = make_client(seen)
    assert await client.service_call(greet, arg="Ada", idempotency_key="k1") == "Ada"
    assert await client.object_call(add, key="a b", arg=3) == 3
    assert [r.url.raw_path for r in seen] == [b"/Greeter/greet", b"/Counter/a%20b/add"]
    assert seen[0].headers["idempotency-key"] == "k1"
    assert seen[0].headers["content-type"] == "application/json"
    assert json.loads(seen[0].content) == "Ada"


async def test_delayed_send_encodes_milliseconds_with_a_unit() -> None:
    seen: list[httpx.Request] = []
    client = make_client(seen)
    handle = await client.object_send(add, key="a", arg=1, send_delay=timedelta(seconds=1.5))
    assert handle.invocation_id == "inv_1"
    assert seen[0].url.path == "/Counter/a/add/send"
    assert seen[0].url.params["delay"] == "1500ms"


async def test_error_status_raises_http_error_with_the_message() -> None:
    client = make_client([], status=400)
    with pytest.raises(restate.HttpError) as info:
        await client.service_call(greet, arg="x")
    assert info.value.status_code == 400
    assert info.value.message == "bad amount"


async def test_create_client_yields_a_client() -> None:
    async with restate.create_client("http://127.0.0.1:1") as client:
        assert isinstance(client, restate.RestateClient)


async def test_attach_and_output_by_invocation_id() -> None:
    seen: list[httpx.Request] = []
    client = make_client(seen)
    assert await client.attach_invocation("inv_1", type_hint=dict) == {"n": 1}
    with pytest.raises(restate.HttpError) as info:
        await client.invocation_output("inv_1")
    assert info.value.status_code == 470
    assert [(r.method, r.url.path) for r in seen] == [
        ("GET", "/restate/invocation/inv_1/attach"),
        ("GET", "/restate/invocation/inv_1/output"),
    ]
