"""Services for the end-to-end tests, written as a restate-sdk user would write them.

Side effects append lines to files under $E2E_DIR so the tests can count how often each step
really ran, across retries, replays and process kills.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

import perdure as restate
from examples.services import counter, greeter, steps
from perdure import Context

E2E_DIR = Path(os.environ.get("E2E_DIR", "/tmp"))


def _append(file: str, line: str) -> None:
    with open(E2E_DIR / file, "a") as fh:
        fh.write(line + "\n")
        fh.flush()
        os.fsync(fh.fileno())


def _count(file: str) -> int:
    try:
        return len((E2E_DIR / file).read_text().splitlines())
    except FileNotFoundError:
        return 0


flaky = restate.Service("Flaky")


@flaky.handler()
async def twice_failing(ctx: Context, name: str) -> str:
    """The second step fails on its first two executions, then succeeds."""

    def first() -> str:
        _append(f"{name}.first", "ran")
        return "a"

    def second() -> str:
        _append(f"{name}.second", "ran")
        if _count(f"{name}.second") <= 2:
            raise ConnectionError("transient failure")
        return "b"

    a = await ctx.run("first", first)
    b = await ctx.run("second", second)
    return f"{a}{b}"


@flaky.handler()
async def reject(ctx: Context, code: int) -> str:
    raise restate.TerminalError("rejected", status_code=code, metadata={"why": "test"})


writer = restate.Service("Writer")


@writer.handler()
async def write(ctx: Context, n: int) -> int:
    """Three steps, each appending one line; slow enough to be caught mid-flight by a kill."""
    total = 0
    for step in range(3):

        def effect(step: int = step) -> int:
            time.sleep(0.02)
            _append("writer.lines", f"{n}:{step}")
            return step + 1

        total += await ctx.run(f"step{step}", effect)
    return n * 100 + total


slow = restate.Service("Slow")


@slow.handler()
async def steps3(ctx: Context, name: str) -> str:
    """Three steps; a step waits for a go-file before finishing (to kill the deployment)."""
    out = []
    for step in range(3):

        def effect(step: int = step) -> str:
            _append(f"{name}.steps", str(step))
            gate = E2E_DIR / f"{name}.go{step}"
            deadline = time.monotonic() + 30
            while step == 1 and not gate.exists() and time.monotonic() < deadline:
                time.sleep(0.01)
            return str(step)

        out.append(await ctx.run(f"s{step}", effect))
    return "".join(out)


app = restate.app(services=[greeter, counter, steps, flaky, writer, slow])
