"""Services the restate CLI tests drive: the examples, one that always fails (retried, then
paused or killed from the CLI), one that sleeps for an hour (cancelled from the CLI), and a
deployment of its own to remove."""

from __future__ import annotations

from datetime import timedelta

import perdure as restate
from examples.services import counter, greeter, payment
from perdure import Context

flaky = restate.Service("Flaky")


@flaky.handler()
async def fail(ctx: Context, what: str) -> str:
    raise RuntimeError(f"flaky failure: {what}")


sleeper = restate.Service("Sleeper")


@sleeper.handler()
async def nap(ctx: Context, name: str) -> str:
    await ctx.sleep(timedelta(hours=1))
    return f"{name} rested"


inventory = restate.VirtualObject("Inventory")


@inventory.handler()
async def take(ctx: restate.ObjectContext, n: int) -> int:
    """Takes n items; a negative n is a bug in this handler that no retry fixes (it raises a
    retryable error): the poison message that blocks its key."""
    if n < 0:
        raise RuntimeError(f"cannot take {n} items")
    left = (await ctx.get("left", type_hint=int) or 100) - n
    ctx.set("left", left)
    return left


app = restate.app(services=[greeter, counter, payment, flaky, sleeper, inventory])

extra = restate.Service("Extra")


@extra.handler()
async def hello(ctx: Context) -> str:
    return "extra"


extra_app = restate.app(services=[extra])
