"""Workflow durable promises through the async shell: GetPromise / PeekPromise / CompletePromise."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator

import pytest

import perdure as restate
from perdure import Context, TerminalError, WorkflowContext, WorkflowSharedContext
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
    void,
)
from perdure_proto import protocol_pb2 as pb

signup = restate.Workflow("Signup")


@signup.main()
async def run(ctx: WorkflowContext, email: str) -> str:
    code = await ctx.promise("code", type_hint=str)
    return f"{email} verified with {code}"


@signup.handler()
async def submit(ctx: WorkflowSharedContext, code: str) -> str:
    try:
        await ctx.promise("code", type_hint=str).resolve(code)
    except TerminalError as e:
        return f"conflict {e.status_code}: {e.message}"
    return "ok"


@signup.handler()
async def deny(ctx: WorkflowSharedContext, reason: str) -> None:
    await ctx.promise("code").reject(reason, 403)


@signup.handler()
async def peek(ctx: WorkflowSharedContext) -> str:
    got = await ctx.promise("code", type_hint=str).peek()
    return "not yet" if got is None else f"got {got}"


greeter = restate.Service("Greeter")


@greeter.handler()
async def not_a_workflow(ctx: Context) -> str:
    ctx.promise("code")  # type: ignore[attr-defined]
    return "unreachable"


app = restate.app([signup, greeter])


@pytest.fixture
async def driver() -> AsyncIterator[StreamDriver]:
    d = StreamDriver(app)
    yield d
    d.close()


async def test_run_awaits_the_promise_and_suspends_until_it_completes(
    driver: StreamDriver,
) -> None:
    driver.send(msg_start("w1", start("Signup", "run", b'"a@b.c"', key="k")))
    out = await driver.until(ended("w1"))
    assert kinds(out) == ["command:get_promise@1", "suspend:[1]"]
    assert out[0].command.entry.get_promise.key == "code"

    journal = [completed(commands_of(out)[0], value(b'"1234"'))]
    driver.send(msg_start("w1", start("Signup", "run", b'"a@b.c"', "k", journal), attempt=2))
    out = await driver.until(ended("w1"))
    assert kinds(out) == ["command:output@2", "end"]
    assert out[0].command.entry.output.result.value == b'"a@b.c verified with 1234"'


async def test_live_promise_completion_resumes_the_handler(driver: StreamDriver) -> None:
    driver.send(msg_start("w1", start("Signup", "run", b'"a@b.c"', key="k")))
    driver.send(msg_completion("w1", 1, value(b'"77"')))
    out = await driver.until(ended("w1"))
    assert kinds(out) == ["command:get_promise@1", "command:output@2", "end"]


async def test_a_rejected_promise_raises_its_terminal_error(driver: StreamDriver) -> None:
    driver.send(msg_start("w1", start("Signup", "run", b'"a@b.c"', key="k")))
    driver.send(msg_completion("w1", 1, failure(403, "denied")))
    out = await driver.until(ended("w1"))
    result = out[-2].command.entry.output.result
    assert (result.failure.code, result.failure.message) == (403, "denied")


async def test_resolve_journals_the_value_and_returns_once_completed(
    driver: StreamDriver,
) -> None:
    driver.send(msg_start("w1", start("Signup", "submit", b'"1234"', key="k")))
    driver.send(msg_completion("w1", 1, void()))
    out = await driver.until(ended("w1"))
    assert kinds(out) == ["command:complete_promise@1", "command:output@2", "end"]
    complete = out[0].command.entry.complete_promise
    assert (complete.key, complete.result.value) == ("code", b'"1234"')
    assert out[1].command.entry.output.result.value == b'"ok"'


async def test_resolving_a_completed_promise_raises_409(driver: StreamDriver) -> None:
    driver.send(msg_start("w1", start("Signup", "submit", b'"1234"', key="k")))
    driver.send(msg_completion("w1", 1, failure(409, "promise was already completed")))
    out = await driver.until(ended("w1"))
    assert json.loads(out[1].command.entry.output.result.value) == (
        "conflict 409: promise was already completed"
    )


async def test_reject_journals_a_failure(driver: StreamDriver) -> None:
    driver.send(msg_start("w1", start("Signup", "deny", b'"spam"', key="k")))
    driver.send(msg_completion("w1", 1, void()))
    out = await driver.until(ended("w1"))
    failure_ = out[0].command.entry.complete_promise.result.failure
    assert (failure_.code, failure_.message) == (403, "spam")
    assert kinds(out)[-2:] == ["command:output@2", "end"]


@pytest.mark.parametrize(
    ("completion", "answer"),
    [(void(), b'"not yet"'), (value(b'"55"'), b'"got 55"')],
)
async def test_peek_answers_none_until_completed(
    driver: StreamDriver, completion: pb.Result, answer: bytes
) -> None:
    driver.send(msg_start("w1", start("Signup", "peek", key="k")))
    driver.send(msg_completion("w1", 1, completion))
    out = await driver.until(ended("w1"))
    assert out[0].command.entry.peek_promise.key == "code"
    assert out[1].command.entry.output.result.value == answer


async def test_replaying_a_different_promise_is_a_journal_mismatch(driver: StreamDriver) -> None:
    other = pb.JournalEntry(get_promise=pb.GetPromise(key="other"))
    st = start("Signup", "run", b'"a@b.c"', key="k", journal=[other])
    driver.send(msg_start("w1", st))
    out = await driver.until(ended("w1"))
    assert kinds(out) == ["error:570"]
    assert "GetPromise(promise='other')" in out[0].error.message
    assert "GetPromise(promise='code')" in out[0].error.message


async def test_promises_outside_a_workflow_fail_with_a_clear_error(driver: StreamDriver) -> None:
    driver.send(msg_start("s1", start("Greeter", "not_a_workflow")))
    out = await driver.until(ended("s1"))
    message = out[0].command.entry.output.result.failure.message
    assert "only available in workflow handlers" in message
