"""Example services, written as a restate-sdk user would: ``import perdure as restate``."""

from __future__ import annotations

import perdure as restate
from perdure import (
    Context,
    ObjectContext,
    ObjectSharedContext,
    WorkflowContext,
    WorkflowSharedContext,
)

greeter = restate.Service("Greeter")


@greeter.handler()
async def greet(ctx: Context, name: str) -> str:
    """Says hello."""
    return f"Hello, {name}!"


counter = restate.VirtualObject("Counter")


@counter.handler()
async def add(ctx: ObjectContext, n: int) -> int:
    """Adds ``n`` to the count of this key and returns the new count."""
    count = (await ctx.get("count", type_hint=int) or 0) + n
    ctx.set("count", count)
    return count


@counter.handler(kind="shared")
async def get(ctx: ObjectSharedContext) -> int:
    """The count of this key."""
    return await ctx.get("count", type_hint=int) or 0


steps = restate.Service("Steps")


def _plus(value: int, step: int) -> int:
    return value + step


@steps.handler()
async def run3(ctx: Context, x: int) -> int:
    """Three durable steps adding 1, 2 and 3."""
    for step in (1, 2, 3):
        x = await ctx.run_typed(f"add {step}", _plus, restate.RunOptions(), x, step)
    return x


payment = restate.Workflow("Payment")


@payment.main()
async def run(ctx: WorkflowContext, amount: int) -> str:
    """Charges once someone approves (the durable promise ``approval``)."""
    approval = await ctx.promise("approval", type_hint=str).value()
    return f"charged {amount}: {approval}"


@payment.handler()
async def approve(ctx: WorkflowSharedContext, decision: str) -> None:
    """Resolves the payment's approval."""
    await ctx.promise("approval", type_hint=str).resolve(decision)


app = restate.app(services=[greeter, counter, steps, payment])
