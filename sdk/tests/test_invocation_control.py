"""Attaching to and cancelling other invocations from a handler (AttachInvocation,
CancelInvocation, ``future.cancel_invocation()``, ``SendHandle.cancel_invocation()``)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

import perdure as restate
from perdure import Context, TerminalError
from perdure._testing import (
    StreamDriver,
    commands_of,
    completed,
    ended,
    failure,
    kinds,
    msg_completion,
    msg_start,
    start,
    value,
)
from perdure_proto import protocol_pb2 as pb

svc = restate.Service("Control")


@svc.handler()
async def slow(ctx: Context) -> str:
    return "slow"


@svc.handler()
async def attach(ctx: Context, invocation_id: str) -> str:
    result = await ctx.attach_invocation(invocation_id, type_hint=str)
    return f"attached: {result}"


@svc.handler()
async def cancel_other(ctx: Context, invocation_id: str) -> None:
    ctx.cancel_invocation(invocation_id)


@svc.handler()
async def call_then_cancel(ctx: Context) -> str:
    future = ctx.service_call(slow, arg=None)
    await future.cancel_invocation()
    try:
        return await future
    except TerminalError as e:
        return f"callee ended with {e.status_code}"


@svc.handler()
async def send_then_cancel(ctx: Context) -> str:
    handle = ctx.service_send(slow, arg=None)
    await handle.cancel_invocation()
    return await handle.invocation_id()


app = restate.app([svc])


@pytest.fixture
async def driver() -> AsyncIterator[StreamDriver]:
    d = StreamDriver(app)
    yield d
    d.close()


async def test_attach_waits_for_the_target_result(driver: StreamDriver) -> None:
    driver.send(msg_start("i1", start("Control", "attach", b'"inv_t"')))
    driver.send(msg_completion("i1", 1, value(b'"done"')))
    out = await driver.until(ended("i1"))
    assert out[0].command.entry.attach_invocation.invocation_id == "inv_t"
    assert out[1].command.entry.output.result.value == b'"attached: done"'


async def test_attach_suspends_on_the_target_and_raises_its_failure(
    driver: StreamDriver,
) -> None:
    driver.send(msg_start("i1", start("Control", "attach", b'"inv_t"')))
    out = await driver.until(ended("i1"))
    assert kinds(out) == ["command:attach_invocation@1", "suspend:[1]"]
    journal = [completed(commands_of(out)[0], failure(404, "invocation not found"))]
    driver.send(msg_start("i1", start("Control", "attach", b'"inv_t"', journal=journal), 2))
    out = await driver.until(ended("i1"))
    assert out[0].command.entry.output.result.failure.code == 404


async def test_cancel_invocation_is_journaled_without_waiting(driver: StreamDriver) -> None:
    driver.send(msg_start("i1", start("Control", "cancel_other", b'"inv_t"')))
    out = await driver.until(ended("i1"))
    assert kinds(out) == ["command:cancel_invocation@1", "command:output@2", "end"]
    assert out[0].command.entry.cancel_invocation.invocation_id == "inv_t"


async def test_call_future_cancels_the_callee_once_its_id_is_known(
    driver: StreamDriver,
) -> None:
    driver.send(msg_start("i1", start("Control", "call_then_cancel")))
    assert kinds(await driver.next_batch()) == ["command:call@1"]
    # Waiting for the callee's id is not a reason to suspend: the server sends it right away.
    assert await driver.quiet() == []
    driver.send(msg_completion("i1", 1, invocation_id="inv_callee"))
    out = await driver.until(ended("i1"))
    assert kinds(out) == ["command:cancel_invocation@2", "suspend:[1]"]
    assert out[0].command.entry.cancel_invocation.invocation_id == "inv_callee"

    call = pb.JournalEntry(call=pb.Call(service="Control", handler="slow"))
    journal = [
        completed(call, failure(409, "cancelled"), "inv_callee"),
        pb.JournalEntry(cancel_invocation=pb.CancelInvocation(invocation_id="inv_callee")),
    ]
    driver.send(msg_start("i1", start("Control", "call_then_cancel", journal=journal), 2))
    out = await driver.until(ended("i1"))
    assert out[0].command.entry.output.result.value == b'"callee ended with 409"'


async def test_send_handle_cancels_the_sent_invocation(driver: StreamDriver) -> None:
    driver.send(msg_start("i1", start("Control", "send_then_cancel")))
    assert kinds(await driver.next_batch()) == ["command:send@1"]
    driver.send(msg_completion("i1", 1, invocation_id="inv_sent"))
    out = await driver.until(ended("i1"))
    assert kinds(out) == ["command:cancel_invocation@2", "command:output@3", "end"]
    assert out[1].command.entry.output.result.value == b'"inv_sent"'
