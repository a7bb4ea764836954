"""Always-replay mode: the attempt suspends wherever the handler would wait, so each step runs
under a fresh replay; plus suspension timing in the normal mode."""

from __future__ import annotations

import itertools
from collections.abc import AsyncIterator
from datetime import timedelta

import pytest

import perdure as restate
from perdure import Context, RunOptions
from perdure._testing import (
    StreamDriver,
    commands_of,
    completed,
    ended,
    kinds,
    msg_ack,
    msg_start,
    start,
    value,
)
from perdure.server import DeploymentServicer
from perdure_proto import protocol_pb2 as pb

svc = restate.Service("Replayed")

_ticks = itertools.count()


def plus(x: int, step: int) -> int:
    return x + step


@svc.handler()
async def run3(ctx: Context, x: int) -> int:
    for step in (1, 2, 3):
        x = await ctx.run_typed(f"add {step}", plus, RunOptions(), x, step)
    return x


@svc.handler()
async def echo(ctx: Context, name: str) -> str:
    return name


@svc.handler()
async def caller(ctx: Context, name: str) -> str:
    return "got " + await ctx.service_call(echo, arg=name)


@svc.handler()
async def sender(ctx: Context) -> str:
    return await ctx.service_send(echo, arg="x").invocation_id()


@svc.handler()
async def nondeterministic(ctx: Context) -> int:
    # A bug always-replay is meant to find: the step's name differs on every execution.
    return await ctx.run_typed(f"step {next(_ticks)}", plus, RunOptions(), 1, 1)


@svc.handler()
async def run_and_sleep(ctx: Context) -> int:
    side = ctx.run_typed("side", plus, RunOptions(), 1, 1)
    await ctx.sleep(timedelta(seconds=5))
    return await side


app = restate.app([svc])


@pytest.fixture
async def replaying() -> AsyncIterator[StreamDriver]:
    d = StreamDriver(app, always_replay=True)
    yield d
    d.close()


@pytest.fixture
async def normal() -> AsyncIterator[StreamDriver]:
    d = StreamDriver(app)
    yield d
    d.close()


async def test_every_run_is_followed_by_a_replay(replaying: StreamDriver) -> None:
    journal: list[pb.JournalEntry] = []
    attempts = []
    for attempt in range(1, 5):
        replaying.send(msg_start("i1", start("Replayed", "run3", b"1", journal=journal), attempt))
        out = await replaying.until(ended("i1"))
        attempts.append(kinds(out))
        journal += [e for e in commands_of(out) if not e.HasField("output")]
    assert attempts == [
        ["command:run@1", "suspend:[]"],
        ["command:run@2", "suspend:[]"],
        ["command:run@3", "suspend:[]"],
        ["command:output@4", "end"],
    ]
    assert out[0].command.entry.output.result.value == b"7"


async def test_a_call_suspends_on_its_completion_then_replays(replaying: StreamDriver) -> None:
    replaying.send(msg_start("i1", start("Replayed", "caller", b'"Al"')))
    out = await replaying.until(ended("i1"))
    assert kinds(out) == ["command:call@1", "suspend:[1]"]
    journal = [completed(commands_of(out)[0], value(b'"Al"'), "inv_c")]
    replaying.send(msg_start("i1", start("Replayed", "caller", b'"Al"', journal=journal), 2))
    out = await replaying.until(ended("i1"))
    assert kinds(out) == ["command:output@2", "end"]


async def test_waiting_for_an_invocation_id_replays_at_once(replaying: StreamDriver) -> None:
    replaying.send(msg_start("i1", start("Replayed", "sender")))
    out = await replaying.until(ended("i1"))
    assert kinds(out) == ["command:send@1", "suspend:[]"]


async def test_non_determinism_shows_up_on_the_next_step(replaying: StreamDriver) -> None:
    replaying.send(msg_start("i1", start("Replayed", "nondeterministic")))
    out = await replaying.until(ended("i1"))
    assert kinds(out) == ["command:run@1", "suspend:[]"]
    journal = commands_of(out)
    replaying.send(msg_start("i1", start("Replayed", "nondeterministic", journal=journal), 2))
    out = await replaying.until(ended("i1"))
    assert kinds(out) == ["error:570"]


async def test_normal_mode_suspends_only_once_pending_runs_are_acknowledged(
    normal: StreamDriver,
) -> None:
    normal.send(msg_start("i1", start("Replayed", "run_and_sleep")))
    out = await normal.until(lambda ms: len(ms) == 2)
    assert kinds(out) == ["command:run@1", "command:sleep@2"]
    assert await normal.quiet() == []
    normal.send(msg_ack("i1", 2))
    assert kinds(await normal.next_batch()) == ["suspend:[2]"]


def test_always_replay_comes_from_the_app_or_the_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("PERDURE_ALWAYS_REPLAY", raising=False)
    plain = restate.app([svc])
    assert not DeploymentServicer(plain).always_replay
    assert DeploymentServicer(plain, always_replay=True).always_replay
    plain.always_replay = True
    assert DeploymentServicer(plain).always_replay
    monkeypatch.setenv("PERDURE_ALWAYS_REPLAY", "1")
    assert DeploymentServicer(restate.app([svc])).always_replay
