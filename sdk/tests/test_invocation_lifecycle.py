"""One invocation through the async shell, messages in / messages out (no gRPC)."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import timedelta

import pytest

import perdure as restate
from perdure import Context, ObjectContext, ObjectSharedContext, RunOptions, TerminalError
from perdure._testing import (
    StreamDriver,
    ended,
    get_state,
    kinds,
    msg_abort,
    msg_ack,
    msg_completion,
    msg_start,
    run,
    start,
    value,
)
from perdure.exceptions import RetryableError
from perdure_proto import protocol_pb2 as pb

greeter = restate.Service("Greeter", description="says hello")


@greeter.handler()
async def greet(ctx: Context, name: str) -> str:
    """Greets someone."""
    return f"Hello, {name}!"


@greeter.handler()
async def fail_terminal(ctx: Context, code: int) -> str:
    raise TerminalError("no way", status_code=code, metadata={"why": "test"})


class WrappedError(Exception):
    pass


@greeter.handler()
async def fail_wrapped(ctx: Context) -> str:
    try:
        raise TerminalError("inner", 418)
    except TerminalError as e:
        raise WrappedError("outer") from e


@greeter.handler()
async def fail_transient(ctx: Context) -> str:
    raise ConnectionError("db down")


@greeter.handler()
async def fail_retry_later(ctx: Context) -> str:
    raise RetryableError("later", retry_after=timedelta(seconds=2))


@greeter.handler()
async def whoami(ctx: Context) -> dict[str, object]:
    req = ctx.request()
    return {
        "id": req.id,
        "headers": req.headers,
        "body": req.body.decode(),
        "idem": req.idempotency_key,
        "uuid": str(ctx.uuid()),
        "dice": ctx.random().randint(1, 1000),
    }


@greeter.handler()
async def napper(ctx: Context) -> str:
    await ctx.sleep(timedelta(seconds=5))
    return "rested"


@greeter.handler()
async def caller(ctx: Context, name: str) -> str:
    greeting = await ctx.service_call(greet, arg=name)
    return f"got: {greeting}"


@greeter.handler()
async def promiser(ctx: Context) -> str:
    ctx.signal("x")
    return "unreachable"


counter = restate.VirtualObject("Counter")


@counter.handler()
async def add(ctx: ObjectContext, n: int) -> int:
    count = (await ctx.get("count", type_hint=int) or 0) + n
    ctx.set("count", count)
    return count


@counter.handler(kind="shared")
async def get(ctx: ObjectSharedContext) -> int:
    return await ctx.get("count", type_hint=int) or 0


steps = restate.Service("Steps")


def add_step(value: int, step: int) -> int:
    return value + step


@steps.handler()
async def run3(ctx: Context, x: int) -> int:
    for step in (1, 2, 3):
        x = await ctx.run_typed(f"add {step}", add_step, RunOptions(), x, step)
    return x


FLAKY = {"calls": 0}


def flaky_sync(fail_times: int) -> str:
    FLAKY["calls"] += 1
    if FLAKY["calls"] <= fail_times:
        raise ConnectionError(f"hiccup {FLAKY['calls']}")
    return "ok"


@steps.handler()
async def retrying(ctx: Context, fail_times: int) -> str:
    options: RunOptions[str] = RunOptions(max_attempts=3)
    try:
        return await ctx.run_typed("flaky", flaky_sync, options, fail_times)
    except TerminalError as e:
        return f"gave up: {e.message}"


@steps.handler()
async def unguarded(ctx: Context) -> str:
    return await ctx.run_typed("flaky", flaky_sync, RunOptions(), 100)


@steps.handler()
async def terminal_in_run(ctx: Context) -> str:
    async def boom() -> str:
        raise TerminalError("nope", 409)

    try:
        await ctx.run_typed("boom", boom)
    except TerminalError as e:
        return f"caught {e.status_code}"
    return "no"


@dataclass
class Point:
    x: int
    y: int


@steps.handler()
async def mirror(ctx: Context, p: Point) -> Point:
    return Point(x=p.y, y=p.x)


app = restate.app(services=[greeter, counter, steps])


@pytest.fixture
async def driver() -> AsyncIterator[StreamDriver]:
    d = StreamDriver(app)
    yield d
    d.close()


async def test_greet_outputs_value_then_ends(driver: StreamDriver) -> None:
    driver.send(msg_start("i1", start("Greeter", "greet", b'"Ada"')))
    out = await driver.until(ended("i1"))
    assert kinds(out) == ["command:output@1", "end"]
    assert out[0].command.entry.output.result.value == b'"Hello, Ada!"'


async def test_terminal_error_becomes_a_failed_output(driver: StreamDriver) -> None:
    driver.send(msg_start("i1", start("Greeter", "fail_terminal", b"400")))
    out = await driver.until(ended("i1"))
    assert kinds(out) == ["command:output@1", "end"]
    f = out[0].command.entry.output.result.failure
    assert (f.code, f.message, dict(f.metadata)) == (400, "no way", {"why": "test"})


async def test_terminal_error_in_the_cause_chain_is_honoured(driver: StreamDriver) -> None:
    driver.send(msg_start("i1", start("Greeter", "fail_wrapped")))
    out = await driver.until(ended("i1"))
    assert out[0].command.entry.output.result.failure.code == 418


async def test_other_exceptions_fail_the_attempt_without_output(driver: StreamDriver) -> None:
    driver.send(msg_start("i1", start("Greeter", "fail_transient")))
    out = await driver.until(ended("i1"))
    assert kinds(out) == ["error:500"]
    assert "db down" in out[0].error.message
    assert "ConnectionError" in out[0].error.stacktrace


async def test_retryable_error_asks_for_its_delay(driver: StreamDriver) -> None:
    driver.send(msg_start("i1", start("Greeter", "fail_retry_later")))
    out = await driver.until(ended("i1"))
    assert kinds(out) == ["error:500"]
    assert out[0].error.retry_after_ms == 2000


@pytest.mark.parametrize("body", [b"{not json", b'"five"'])
async def test_unparsable_or_mistyped_input_is_a_terminal_400(
    driver: StreamDriver, body: bytes
) -> None:
    # Counter.add takes an int: neither garbage nor a string can ever succeed, so the
    # invocation ends at once (no retries) with a 400 that says why.
    driver.send(msg_start("i1", start("Counter", "add", body, key="k")))
    out = await driver.until(ended("i1"))
    (output,) = [m for m in out if m.command.entry.HasField("output")]
    f = output.command.entry.output.result.failure
    assert f.code == 400
    assert f.message.startswith("Unable to parse an input argument.")


async def test_unknown_handler_fails_the_attempt(driver: StreamDriver) -> None:
    driver.send(msg_start("i1", start("Greeter", "nope")))
    out = await driver.until(ended("i1"))
    assert kinds(out) == ["error:404"]
    assert "Greeter/nope" in out[0].error.message


async def test_counter_reads_eager_state_and_writes_it(driver: StreamDriver) -> None:
    driver.send(msg_start("i1", start("Counter", "add", b"5", key="k", state={"count": b"10"})))
    out = await driver.until(ended("i1"))
    assert kinds(out) == [
        "command:get_state@1",
        "command:set_state@2",
        "command:output@3",
        "end",
    ]
    assert out[1].command.entry.set_state.value == b"15"
    assert out[2].command.entry.output.result.value == b"15"


async def test_replayed_counter_uses_recorded_get(driver: StreamDriver) -> None:
    journal = [get_state("count", b"1")]
    st = start("Counter", "add", b"5", key="k", journal=journal, state={"count": b"99"})
    driver.send(msg_start("i1", st, attempt=2))
    out = await driver.until(ended("i1"))
    assert kinds(out) == ["command:set_state@2", "command:output@3", "end"]
    assert out[1].command.entry.output.result.value == b"6"


async def test_shared_handler_cannot_write_state(driver: StreamDriver) -> None:
    driver.send(msg_start("i1", start("Counter", "get", key="k", state={"count": b"3"})))
    out = await driver.until(ended("i1"))
    assert out[-2].command.entry.output.result.value == b"3"


async def test_run_waits_for_ack_before_the_handler_continues(driver: StreamDriver) -> None:
    driver.send(msg_start("i1", start("Steps", "run3", b"10")))
    first = await driver.next_batch()
    assert kinds(first) == ["command:run@1"]
    assert first[0].command.entry.run.result.value == b"11"
    assert await driver.idle() == []
    driver.send(msg_ack("i1", 1))
    assert kinds(await driver.next_batch()) == ["command:run@2"]
    driver.send(msg_ack("i1", 2))
    assert kinds(await driver.next_batch()) == ["command:run@3"]
    driver.send(msg_ack("i1", 3))
    out = await driver.until(ended("i1"))
    assert kinds(out) == ["command:output@4", "end"]
    assert out[0].command.entry.output.result.value == b"16"


async def test_replayed_runs_are_not_executed_again(driver: StreamDriver) -> None:
    journal = [run("add 1", value(b"101")), run("add 2", value(b"103"))]
    driver.send(msg_start("i1", start("Steps", "run3", b"100", journal=journal), attempt=2))
    out = await driver.next_batch()
    assert kinds(out) == ["command:run@3"]
    assert out[0].command.entry.run.result.value == b"106"


async def test_terminal_error_in_a_run_is_journaled_and_raised(driver: StreamDriver) -> None:
    driver.send(msg_start("i1", start("Steps", "terminal_in_run")))
    out = await driver.next_batch()
    assert out[0].command.entry.run.result.failure.code == 409
    driver.send(msg_ack("i1", 1))
    out = await driver.until(ended("i1"))
    assert out[0].command.entry.output.result.value == b'"caught 409"'


async def test_run_retries_locally_when_run_options_ask_for_it(driver: StreamDriver) -> None:
    FLAKY["calls"] = 0
    driver.send(msg_start("i1", start("Steps", "retrying", b"2")))
    out = await driver.next_batch()
    assert out[0].command.entry.run.result.value == b'"ok"'
    assert FLAKY["calls"] == 3
    assert driver.clock.sleeps == [0.05, 0.1]


async def test_exhausted_run_retries_journal_a_terminal_failure(driver: StreamDriver) -> None:
    FLAKY["calls"] = 0
    driver.send(msg_start("i1", start("Steps", "retrying", b"10")))
    out = await driver.next_batch()
    f = out[0].command.entry.run.result.failure
    assert f.code == 500 and "hiccup 3" in f.message
    driver.send(msg_ack("i1", 1))
    out = await driver.until(ended("i1"))
    assert json.loads(out[0].command.entry.output.result.value).startswith("gave up")


async def test_run_without_retry_options_fails_the_attempt(driver: StreamDriver) -> None:
    FLAKY["calls"] = 0
    driver.send(msg_start("i1", start("Steps", "unguarded")))
    out = await driver.until(ended("i1"))
    assert kinds(out) == ["error:500"]
    error = out[0].error
    assert (error.related_index, error.related_name) == (1, "flaky")
    assert "hiccup 1" in error.message
    assert FLAKY["calls"] == 1


async def test_dataclass_input_and_output_round_trip(driver: StreamDriver) -> None:
    driver.send(msg_start("i1", start("Steps", "mirror", b'{"x": 1, "y": 2}')))
    out = await driver.until(ended("i1"))
    assert json.loads(out[0].command.entry.output.result.value) == {"x": 2, "y": 1}


async def test_request_and_deterministic_helpers(driver: StreamDriver) -> None:
    st = start("Greeter", "whoami", b"", headers={"x-demo": "hi"}, seed=99)
    st.idempotency_key = "idem-1"
    driver.send(msg_start("i1", st))
    first = json.loads((await driver.until(ended("i1")))[0].command.entry.output.result.value)
    assert first["id"] == "i1" and first["headers"] == {"x-demo": "hi"}
    assert first["idem"] == "idem-1"
    driver.send(msg_start("i2", st))
    second = json.loads((await driver.until(ended("i2")))[0].command.entry.output.result.value)
    assert (first["uuid"], first["dice"]) == (second["uuid"], second["dice"])


async def test_sleep_suspends_and_completes_on_the_next_attempt(driver: StreamDriver) -> None:
    driver.send(msg_start("i1", start("Greeter", "napper")))
    out = await driver.until(ended("i1"))
    assert kinds(out) == ["command:sleep@1", "suspend:[1]"]
    slept = pb.JournalEntry(sleep=out[0].command.entry.sleep, completion=pb.Result(void=pb.Void()))
    driver.send(msg_start("i1", start("Greeter", "napper", journal=[slept]), attempt=2))
    out = await driver.until(ended("i1"))
    assert kinds(out) == ["command:output@2", "end"]


async def test_call_suspends_then_replays_with_its_completion(driver: StreamDriver) -> None:
    driver.send(msg_start("i1", start("Greeter", "caller", b'"Bo"')))
    out = await driver.until(ended("i1"))
    assert kinds(out) == ["command:call@1", "suspend:[1]"]
    call = out[0].command.entry.call
    assert (call.service, call.handler, call.argument) == ("Greeter", "greet", b'"Bo"')
    done = pb.JournalEntry(call=call, completion=value(b'"Hello, Bo!"'))
    driver.send(msg_start("i1", start("Greeter", "caller", b'"Bo"', journal=[done]), attempt=2))
    out = await driver.until(ended("i1"))
    assert out[0].command.entry.output.result.value == b'"got: Hello, Bo!"'


async def test_completion_arriving_before_suspension_wakes_the_handler(
    driver: StreamDriver,
) -> None:
    driver.send(msg_start("i1", start("Greeter", "caller", b'"Bo"')))
    driver.send(msg_completion("i1", 1, value(b'"Hello, Bo!"'), "inv-child"))
    out = await driver.until(ended("i1"))
    assert kinds(out) == ["command:call@1", "command:output@2", "end"]


async def test_operations_without_server_support_raise_501(driver: StreamDriver) -> None:
    driver.send(msg_start("i1", start("Greeter", "promiser")))
    out = await driver.until(ended("i1"))
    assert out[0].command.entry.output.result.failure.code == 501


async def test_abort_stops_the_attempt_silently(driver: StreamDriver) -> None:
    driver.send(msg_start("i1", start("Steps", "run3", b"1")))
    await driver.next_batch()
    driver.send(msg_abort("i1"))
    driver.send(msg_ack("i1", 1))
    assert await driver.idle() == []


async def test_messages_for_other_attempts_are_ignored_and_newer_start_wins(
    driver: StreamDriver,
) -> None:
    driver.send(msg_start("i1", start("Steps", "run3", b"1"), attempt=2))
    assert kinds(await driver.next_batch()) == ["command:run@1"]
    driver.send(msg_ack("i1", 1, attempt=1))
    driver.send(msg_start("i1", start("Steps", "run3", b"1"), attempt=1))
    assert await driver.idle() == []
    journal = [run("add 1", value(b"2"))]
    driver.send(msg_start("i1", start("Steps", "run3", b"1", journal=journal), attempt=3))
    out = await driver.next_batch()
    assert [(m.attempt, kinds([m])[0]) for m in out] == [(3, "command:run@2")]
    driver.send(msg_ack("i1", 2, attempt=2))
    assert await driver.idle() == []
