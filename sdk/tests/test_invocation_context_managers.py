"""``invocation_context_managers`` wrap every attempt; ``extensions.contextvar`` exposes values."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import perdure as restate
from perdure import Context
from perdure._testing import StreamDriver, ended, msg_start, start
from perdure.extensions import contextvar, current_context

EVENTS: list[str] = []


@contextvar
@asynccontextmanager
async def tenant() -> AsyncIterator[str]:
    EVENTS.append("enter")
    yield "acme"
    EVENTS.append("exit")


svc = restate.Service("Tenanted", invocation_context_managers=[tenant])


@svc.handler()
async def who(ctx: Context) -> str:
    assert current_context() is ctx
    return f"{tenant.value}"


async def test_context_managers_wrap_the_handler() -> None:
    driver = StreamDriver(restate.app([svc]))
    driver.send(msg_start("i1", start("Tenanted", "who")))
    out = await driver.until(ended("i1"))
    assert out[0].command.entry.output.result.value == b'"acme"'
    assert EVENTS == ["enter", "exit"]
    driver.close()
