"""Services for the deployment-restart test, written as a restate-sdk user would."""

from __future__ import annotations

import asyncio
import os
import time
from pathlib import Path

import perdure as restate
from perdure import Context

E2E_DIR = Path(os.environ.get("E2E_DIR", "/tmp"))
RELEASE = "release"  # the file that lets blocked steps finish

waiting = restate.Service("Waiting")


def _mark(name: str, line: str) -> None:
    with open(E2E_DIR / f"{name}.lines", "a") as fh:
        fh.write(line + "\n")


@waiting.handler()
async def on_gate(ctx: Context, name: str) -> str:
    """One step that runs until the release file exists (at most 60 s)."""

    async def step() -> str:
        _mark(name, "started")
        deadline = time.monotonic() + 60
        while not (E2E_DIR / RELEASE).exists() and time.monotonic() < deadline:
            await asyncio.sleep(0.01)
        return name

    return await ctx.run("gate", step)


@waiting.handler()
async def echo(ctx: Context, name: str) -> str:
    return name


app = restate.app(services=[waiting])
