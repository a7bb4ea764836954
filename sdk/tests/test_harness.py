"""The test harness against a real Perdure node process (the app served in this process)."""

from __future__ import annotations

import asyncio
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlparse

import httpx
import pytest

import perdure as restate
from perdure import (
    Context,
    ObjectContext,
    ObjectSharedContext,
    RunOptions,
    TerminalError,
    WorkflowContext,
    WorkflowSharedContext,
)

EVENTS: list[str] = []


def record(event: str) -> str:
    EVENTS.append(event)
    return event


def plus(x: int, step: int) -> int:
    return x + step


svc = restate.Service("HarnessService")


@svc.handler()
async def greet(ctx: Context, name: str) -> str:
    return f"Hello, {name}!"


@svc.handler()
async def run3(ctx: Context, x: int) -> int:
    record("run3 executed")
    for step in (1, 2, 3):
        x = await ctx.run_typed(f"add {step}", plus, RunOptions(), x, step)
    return x


@svc.handler()
async def boom(ctx: Context) -> str:
    record("boom attempt")
    raise ValueError("boom")


@svc.handler()
async def saga(ctx: Context) -> str:
    try:
        await ctx.run_typed("book", record, RunOptions(), "booked")
        await ctx.sleep(timedelta(seconds=60))
        return "finished"
    except TerminalError as e:
        await ctx.run_typed("undo", record, RunOptions(), "undone")
        raise TerminalError(f"compensated after {e.message}", e.status_code) from e


@svc.handler()
async def cancel_child(ctx: Context) -> str:
    child = ctx.service_call(saga, arg=None)
    await child.invocation_id()
    await ctx.sleep(timedelta(milliseconds=200))
    await child.cancel_invocation()
    try:
        return await child
    except TerminalError as e:
        return f"child {e.status_code}: {e.message}"


counter = restate.VirtualObject("HarnessCounter")


@counter.handler()
async def add(ctx: ObjectContext, n: int) -> int:
    count = (await ctx.get("count", type_hint=int) or 0) + n
    ctx.set("count", count)
    return count


@counter.handler(kind="shared")
async def get(ctx: ObjectSharedContext) -> int:
    return await ctx.get("count", type_hint=int) or 0


signup = restate.Workflow("HarnessSignup")


@signup.main()
async def run(ctx: WorkflowContext, email: str) -> str:
    code = await ctx.promise("code", type_hint=str)
    return f"{email} verified with {code}"


@signup.handler()
async def submit(ctx: WorkflowSharedContext, code: str) -> str:
    try:
        await ctx.promise("code", type_hint=str).resolve(code)
    except TerminalError as e:
        return f"conflict {e.status_code}"
    return "ok"


@signup.handler()
async def peek(ctx: WorkflowSharedContext) -> str:
    got = await ctx.promise("code", type_hint=str).peek()
    return got or "not yet"


app = restate.app([svc, counter, signup])


@pytest.fixture(autouse=True)
def _clear_events() -> None:
    EVENTS.clear()


async def eventually(check: Callable[[], bool], timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise TimeoutError("condition not met in time")
        await asyncio.sleep(0.02)


def refuses_connections(url: str) -> bool:
    parsed = urlparse(url)
    try:
        with socket.create_connection((parsed.hostname, parsed.port or 80), timeout=1):
            return False
    except OSError:
        return True


async def test_harness_serves_the_app_through_a_real_node_and_stops_it() -> None:
    async with restate.create_test_harness(app) as env:
        client = env.client
        assert await client.service_call(greet, arg="Ada") == "Hello, Ada!"
        assert await client.object_call(add, key="a", arg=2) == 2
        first = await client.object_send(add, key="a", arg=5, idempotency_key="once")
        again = await client.object_send(add, key="a", arg=5, idempotency_key="once")
        assert first.invocation_id == again.invocation_id
        sent = time.monotonic()
        await client.object_send(add, key="b", arg=1, send_delay=timedelta(milliseconds=500))
        assert await client.object_call(get, key="b", arg=None) == 0
        while await client.object_call(get, key="b", arg=None) == 0:
            assert time.monotonic() - sent < 10
            await asyncio.sleep(0.05)
        assert time.monotonic() - sent >= 0.5
        assert await client.object_call(get, key="a", arg=None) == 7
        async with httpx.AsyncClient() as http:
            deployments = (await http.get(env.admin_api_url + "/deployments")).json()
        assert len(deployments["deployments"]) == 1
    assert refuses_connections(env.ingress_url)
    assert refuses_connections(env.admin_api_url)


async def test_workflow_promise_round_trip() -> None:
    async with restate.create_test_harness(app) as env:
        client = env.client
        sent = await client.workflow_send(run, key="k1", arg="a@b.c")
        with pytest.raises(restate.HttpError) as running:
            await client.invocation_output(sent.invocation_id)
        assert running.value.status_code == 470
        assert await client.workflow_call(peek, key="k1", arg=None) == "not yet"
        assert await client.workflow_call(submit, key="k1", arg="1234") == "ok"
        assert await client.workflow_call(submit, key="k1", arg="9999") == "conflict 409"
        assert await client.workflow_call(peek, key="k1", arg=None) == "1234"
        async with httpx.AsyncClient(base_url=env.ingress_url) as http:
            answer = await http.get("/restate/workflow/HarnessSignup/k1/attach")
        assert answer.json() == "a@b.c verified with 1234"
        output = await client.invocation_output(sent.invocation_id, type_hint=str)
        assert output == "a@b.c verified with 1234"


async def test_cancellation_runs_compensations_and_reaches_callers() -> None:
    async with restate.create_test_harness(app) as env:
        handle = await env.client.service_send(saga, arg=None)
        await eventually(lambda: "booked" in EVENTS)
        async with httpx.AsyncClient() as http:
            url = f"{env.admin_api_url}/invocations/{handle.invocation_id}/cancel"
            assert (await http.patch(url)).status_code == 202
        with pytest.raises(restate.HttpError) as failed:
            await env.client.attach_invocation(handle.invocation_id)
        assert (failed.value.status_code, failed.value.message) == (
            409,
            "compensated after cancelled",
        )
        assert EVENTS == ["booked", "undone"]
        result = await env.client.service_call(cancel_child, arg=None)
        assert result == "child 409: compensated after cancelled"


async def test_disable_retries_fails_the_invocation_after_one_attempt() -> None:
    async with restate.create_test_harness(app, disable_retries=True) as env:
        with pytest.raises(restate.HttpError) as failed:
            await env.client.service_call(boom, arg=None)
    assert failed.value.status_code == 500
    assert "boom" in failed.value.message
    assert EVENTS == ["boom attempt"]


async def test_always_replay_runs_each_step_under_a_fresh_replay() -> None:
    async with restate.create_test_harness(app, always_replay=True) as env:
        assert await env.client.service_call(run3, arg=1) == 7
    # one execution per step: three runs, each followed by a replay, then the output
    assert EVENTS == ["run3 executed"] * 4


def test_sync_harness_serves_from_a_background_thread() -> None:
    with restate.test_harness(app) as harness, harness.ingress_client() as http:
        answer = http.post("/HarnessService/greet", json="Bo")
        assert (answer.status_code, answer.json()) == (200, "Hello, Bo!")
        ingress = harness.ingress_url
    assert refuses_connections(ingress)


async def test_without_the_server_command_the_harness_says_what_to_install(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.delenv("PERDURE_SERVER", raising=False)
    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.setattr(sys, "executable", str(tmp_path / "python"))
    with pytest.raises(FileNotFoundError, match="pip install perdure-server"):
        async with restate.create_test_harness(app):
            pass


def test_the_sdk_and_its_harness_never_import_the_server() -> None:
    # The harness meets the server only through its command and its ports.
    code = (
        "import sys, perdure, perdure.harness, perdure.server, perdure.client\n"
        "bad = sorted(m for m in sys.modules if m.split('.')[0] in "
        "('node', 'partition', 'log', 'ingress'))\n"
        "print(bad)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]", out.stdout
