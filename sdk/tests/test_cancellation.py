"""Cancellation: raised as ``TerminalError("cancelled", 409)`` at the next await of a durable
future, journaled as a ``Cancelled`` marker, and raised again at the same point on replay."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

import perdure as restate
from perdure import Context, RunOptions, TerminalError
from perdure._testing import (
    StreamDriver,
    ended,
    kinds,
    msg_ack,
    msg_cancel,
    msg_start,
    run,
    start,
    value,
)
from perdure_proto import protocol_pb2 as pb

svc = restate.Service("Trip")

ACTIONS: list[str] = []
GATES: dict[str, asyncio.Event] = {}


def action(name: str) -> str:
    ACTIONS.append(name)
    return name


@svc.handler()
async def saga(ctx: Context) -> str:
    try:
        await ctx.run_typed("book", action, RunOptions(), "booked")
        return "finished"
    except TerminalError as e:
        await ctx.run_typed("undo", action, RunOptions(), "undone")
        raise TerminalError(f"compensated after {e.message}", e.status_code) from e


@svc.handler()
async def gated(ctx: Context) -> str:
    await GATES["gate"].wait()  # not a durable await: a cancellation waits for the next one
    return await ctx.run_typed("step", action, RunOptions(), "stepped")


@svc.handler()
async def two_awaits(ctx: Context) -> str:
    a = ctx.run_typed("a", action, RunOptions(), "A")
    b = ctx.run_typed("b", action, RunOptions(), "B")
    first = await a
    try:
        await b
    except TerminalError as e:
        # the cancellation is not b's outcome: awaiting b again gives its value
        return f"{e.message} after {first}; b={await b}"
    return "not cancelled"


@svc.handler()
async def race(ctx: Context) -> str:
    step = ctx.run_typed("step", action, RunOptions(), "stepped")
    _, approval = ctx.awakeable(type_hint=str)
    try:
        winner, _ = await restate.select(step=step, approval=approval)
    except TerminalError as e:
        return f"{e.message} in select"
    return f"{winner} won"


app = restate.app([svc])


@pytest.fixture
async def driver() -> AsyncIterator[StreamDriver]:
    ACTIONS.clear()
    GATES.clear()
    d = StreamDriver(app)
    yield d
    d.close()


def cancelled_at(ordinal: int) -> pb.JournalEntry:
    return pb.JournalEntry(name=f"perdure:await#{ordinal}", cancelled=pb.Cancelled())


SAGA_JOURNAL = [
    run("book", value(b'"booked"')),
    cancelled_at(1),
    run("undo", value(b'"undone"')),
]


async def test_cancel_while_awaiting_raises_there_and_compensations_run(
    driver: StreamDriver,
) -> None:
    driver.send(msg_start("i1", start("Trip", "saga")))
    assert kinds(await driver.next_batch()) == ["command:run@1"]
    driver.send(msg_cancel("i1"))
    out = await driver.until(lambda ms: "command:run@3" in kinds(ms))
    assert kinds(out) == ["command:cancelled@2", "command:run@3"]
    assert out[0].command.entry.name == "perdure:await#1"
    driver.send(msg_ack("i1", 3))
    out = await driver.until(ended("i1"))
    assert kinds(out) == ["command:output@4", "end"]
    result = out[0].command.entry.output.result
    assert (result.failure.code, result.failure.message) == (409, "compensated after cancelled")
    assert ACTIONS == ["booked", "undone"]


async def test_replayed_cancelled_marker_raises_at_the_same_point(driver: StreamDriver) -> None:
    driver.send(msg_start("i1", start("Trip", "saga", journal=SAGA_JOURNAL)))
    out = await driver.until(ended("i1"))
    assert kinds(out) == ["command:output@4", "end"]
    assert out[0].command.entry.output.result.failure.code == 409
    assert ACTIONS == []


async def test_start_cancelled_raises_at_the_first_await(driver: StreamDriver) -> None:
    driver.send(msg_start("i1", start("Trip", "saga", cancelled=True)))
    out = await driver.until(lambda ms: "command:run@3" in kinds(ms))
    assert kinds(out) == ["command:run@1", "command:cancelled@2", "command:run@3"]
    driver.send(msg_ack("i1", 3))
    out = await driver.until(ended("i1"))
    assert out[0].command.entry.output.result.failure.code == 409


async def test_start_cancelled_already_observed_in_the_journal_is_not_raised_again(
    driver: StreamDriver,
) -> None:
    driver.send(msg_start("i1", start("Trip", "saga", journal=SAGA_JOURNAL, cancelled=True)))
    out = await driver.until(ended("i1"))
    assert kinds(out) == ["command:output@4", "end"]


async def test_cancel_between_awaits_waits_for_the_next_durable_await(
    driver: StreamDriver,
) -> None:
    GATES["gate"] = asyncio.Event()
    driver.send(msg_start("i1", start("Trip", "gated")))
    driver.send(msg_cancel("i1"))
    assert await driver.quiet() == []
    GATES["gate"].set()
    out = await driver.until(ended("i1"))
    assert kinds(out) == ["command:run@1", "command:cancelled@2", "command:output@3", "end"]
    assert out[2].command.entry.output.result.failure.message == "cancelled"


async def test_marker_names_which_await_observed_it_and_replay_honours_it(
    driver: StreamDriver,
) -> None:
    driver.send(msg_start("i1", start("Trip", "two_awaits")))
    assert kinds(await driver.until(lambda ms: len(ms) == 2)) == ["command:run@1", "command:run@2"]
    driver.send(msg_ack("i1", 1))
    assert await driver.quiet() == []
    driver.send(msg_cancel("i1"))
    out = await driver.next_batch()
    assert kinds(out) == ["command:cancelled@3"]
    assert out[0].command.entry.name == "perdure:await#2"
    driver.send(msg_ack("i1", 3))
    out = await driver.until(ended("i1"))
    assert out[0].command.entry.output.result.value == b'"cancelled after A; b=B"'

    # On replay the first await at index 3 (a, already complete) does not raise; the second does.
    journal = [run("a", value(b'"A"')), run("b", value(b'"B"')), cancelled_at(2)]
    driver.send(msg_start("i1", start("Trip", "two_awaits", journal=journal), attempt=2))
    out = await driver.until(ended("i1"))
    assert out[0].command.entry.output.result.value == b'"cancelled after A; b=B"'


async def test_a_different_command_where_the_marker_was_is_a_mismatch(
    driver: StreamDriver,
) -> None:
    journal = [cancelled_at(1)]
    driver.send(msg_start("i1", start("Trip", "saga", journal=journal)))
    out = await driver.until(ended("i1"))
    assert kinds(out) == ["error:570"]
    assert "recorded Cancelled(name='perdure:await#1')" in out[0].error.message


async def test_cancel_inside_a_combinator_replays_even_when_more_is_done(
    driver: StreamDriver,
) -> None:
    driver.send(msg_start("i1", start("Trip", "race")))
    out = await driver.until(lambda ms: len(ms) == 2)
    assert kinds(out) == ["command:run@1", "command:awakeable@2"]
    driver.send(msg_cancel("i1"))
    out = await driver.until(ended("i1"))
    assert kinds(out) == ["command:cancelled@3", "command:output@4", "end"]
    assert out[1].command.entry.output.result.value == b'"cancelled in select"'

    # Replayed, the run is already complete: select still observes the marker first.
    journal = [
        run("step", value(b'"stepped"')),
        pb.JournalEntry(awakeable=pb.Awakeable()),
        cancelled_at(1),
    ]
    driver.send(msg_start("i1", start("Trip", "race", journal=journal), attempt=2))
    out = await driver.until(ended("i1"))
    assert out[0].command.entry.output.result.value == b'"cancelled in select"'
