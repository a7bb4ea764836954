"""Combinators over durable futures, replay-aware logging, and the minimal-dependency import."""

from __future__ import annotations

import logging
import subprocess
import sys
from collections.abc import AsyncIterator
from datetime import timedelta

import pytest

import perdure as restate
from perdure import Context
from perdure._testing import StreamDriver, ended, kinds, msg_ack, msg_start, run, start, value
from perdure_proto import protocol_pb2 as pb

svc = restate.Service("Combos")
log = restate.getLogger("perdure.tests.combos")


async def twice(x: int) -> int:
    return 2 * x


@svc.handler()
async def race(ctx: Context) -> list[str]:
    call = ctx.generic_call("Other", "slow", b"")
    nap = ctx.sleep(timedelta(seconds=1))
    name, result = await restate.select(call=call, nap=nap)
    return [name, result.decode() if isinstance(result, bytes) else str(result)]


@svc.handler()
async def both(ctx: Context) -> int:
    a = ctx.run_typed("a", twice, restate.RunOptions(), 1)
    b = ctx.run_typed("b", twice, restate.RunOptions(), 2)
    done = await restate.gather(a, b)
    return sum([await f for f in done])


@svc.handler()
async def chatty(ctx: Context) -> str:
    log.info("before the step")
    await ctx.run_typed("step", twice, restate.RunOptions(), 1)
    log.info("after the step")
    return "ok"


app = restate.app(services=[svc])


@pytest.fixture
async def driver() -> AsyncIterator[StreamDriver]:
    d = StreamDriver(app)
    yield d
    d.close()


async def test_select_suspends_on_all_then_picks_the_completed_one(driver: StreamDriver) -> None:
    driver.send(msg_start("i1", start("Combos", "race")))
    out = await driver.until(ended("i1"))
    assert kinds(out) == ["command:call@1", "command:sleep@2", "suspend:[1, 2]"]
    call = pb.JournalEntry(call=out[0].command.entry.call, completion=value(b"fast"))
    sleep = pb.JournalEntry(sleep=out[1].command.entry.sleep)
    driver.send(msg_start("i1", start("Combos", "race", journal=[call, sleep]), attempt=2))
    out = await driver.next_batch()
    assert kinds(out) == ["command:run@3"]
    assert out[0].command.entry.name == "perdure:select"
    assert out[0].command.entry.run.result.value == b"[0]"
    driver.send(msg_ack("i1", 3, attempt=2))
    out = await driver.until(ended("i1"))
    assert out[0].command.entry.output.result.value == b'["call", "fast"]'


async def test_select_replays_the_journaled_winner(driver: StreamDriver) -> None:
    call = pb.JournalEntry(call=pb.Call(service="Other", handler="slow"), completion=value(b"x"))
    sleep = pb.JournalEntry(sleep=pb.Sleep(wake_up_time_ms=1), completion=pb.Result(void=pb.Void()))
    choice = run("perdure:select", value(b"[1]"))
    driver.send(msg_start("i1", start("Combos", "race", journal=[call, sleep, choice])))
    out = await driver.until(ended("i1"))
    assert kinds(out) == ["command:output@4", "end"]
    assert out[0].command.entry.output.result.value == b'["nap", "None"]'


async def test_gather_waits_for_every_run(driver: StreamDriver) -> None:
    driver.send(msg_start("i1", start("Combos", "both")))
    out = await driver.until(lambda ms: len(ms) >= 2)
    assert kinds(out) == ["command:run@1", "command:run@2"]
    driver.send(msg_ack("i1", 2))
    out = await driver.until(ended("i1"))
    assert out[0].command.entry.output.result.value == b"6"


async def test_logger_drops_records_while_replaying(
    driver: StreamDriver, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="perdure.tests.combos")
    journal = [run("step", value(b"2"))]
    driver.send(msg_start("i1", start("Combos", "chatty", journal=journal), attempt=2))
    await driver.until(ended("i1"))
    messages = [r.getMessage() for r in caplog.records if r.name == "perdure.tests.combos"]
    assert messages == ["after the step"]


def test_sdk_imports_and_serves_with_only_grpcio_and_protobuf() -> None:
    code = (
        "import sys\n"
        "for m in ('pydantic', 'msgspec', 'httpx', 'uvloop', 'orjson', 'dacite'):\n"
        "    sys.modules[m] = None\n"
        "import perdure as restate\n"
        "s = restate.Service('S')\n"
        "@s.handler()\n"
        "async def h(ctx: restate.Context, x: int) -> int:\n"
        "    return x\n"
        "app = restate.app([s])\n"
        "assert app.manifest().services[0].name == 'S'\n"
        "import asyncio\n"
        "async def main():\n"
        "    server, port = await restate.server.start_server(app, '127.0.0.1', 0)\n"
        "    await server.stop(None)\n"
        "asyncio.run(main())\n"
        "try:\n"
        "    asyncio.run(restate.create_client('http://x').__aenter__())\n"
        "except ImportError as e:\n"
        "    assert 'httpx' in str(e)\n"
        "else:\n"
        "    raise SystemExit('create_client should need httpx')\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
