"""Services for the end-to-end tests, written as a restate-sdk user would write them.

Side effects append lines to files under $E2E_DIR so the tests can count how often each step
really ran, across retries, replays and process kills.
"""

from __future__ import annotations

import json
import os
import time
from datetime import timedelta
from pathlib import Path

import perdure as restate
from examples.services import counter, greeter, steps
from examples.services import greet as greeter_greet
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


# ---------------------------------------------------------------- issue 4 building blocks

sleepy = restate.Service("Sleepy")


@sleepy.handler()
async def nap(ctx: Context, ms: int) -> str:
    """Sleeps durably; records its start and end (step lines) to count executions."""
    await ctx.run("before", lambda: _append(f"nap{ms}.lines", "before"))
    await ctx.sleep(timedelta(milliseconds=ms))
    await ctx.run("after", lambda: _append(f"nap{ms}.lines", "after"))
    return "rested"


@sleepy.handler()
async def forever(ctx: Context, name: str) -> str:
    """Sleeps an hour; a cancellation runs the compensation step and is re-raised."""
    try:
        await ctx.sleep(timedelta(hours=1))
    except restate.TerminalError:
        await ctx.run("compensate", lambda: _append(f"{name}.compensated", "yes"))
        raise
    return "woke"


lists = restate.VirtualObject("Lists")


@lists.handler()
async def append(ctx: restate.ObjectContext, value: str) -> list[str]:
    items: list[str] = await ctx.get("items") or []
    items.append(value)
    ctx.set("items", items)
    return items


@lists.handler(kind="shared")
async def items(ctx: restate.ObjectSharedContext) -> list[str]:
    return await ctx.get("items") or []


caller = restate.Service("Caller")


@caller.handler()
async def call_greet(ctx: Context, name: str) -> str:
    return await ctx.service_call(greeter_greet, arg=name)


@caller.handler()
async def call_reject(ctx: Context, code: int) -> str:
    try:
        await ctx.service_call(reject, arg=code)
    except restate.TerminalError as e:
        return f"{e.status_code}:{e.message}"
    return "no error"


@caller.handler()
async def fan_out(ctx: Context, key: str) -> str:
    """Ten sends to one key, in order, then a delayed one."""
    for i in range(10):
        ctx.object_send(append, key=key, arg=str(i))
    ctx.object_send(append, key=key, arg="late", send_delay=timedelta(milliseconds=500))
    return "sent"


@caller.handler()
async def gather_greets(ctx: Context, n: int) -> list[str]:
    futures = [ctx.service_call(greeter_greet, arg=str(i)) for i in range(n)]
    return [await f for f in await restate.gather(*futures)]


@caller.handler()
async def race(ctx: Context, ms: int) -> str:
    """A call raced against a timer: the call to nap(ms) loses when ms is long."""
    match await restate.select(
        call=ctx.service_call(nap, arg=ms), timeout=ctx.sleep(timedelta(milliseconds=200))
    ):
        case ["call", value]:
            return f"call:{value}"
        case _:
            return "timeout"


holder = restate.VirtualObject("Holder")


@holder.handler()
async def hold(ctx: restate.ObjectContext, value: str) -> None:
    ctx.set("value", value)


@holder.handler(kind="shared")
async def held(ctx: restate.ObjectSharedContext) -> str | None:
    return await ctx.get("value")


awakeables = restate.Service("Awakeables")


@awakeables.handler()
async def wait_external(ctx: Context, key: str) -> str:
    """Parks an awakeable id in Holder/<key> and waits for someone to complete it."""
    awakeable_id, future = ctx.awakeable(type_hint=str)
    ctx.object_send(hold, key=key, arg=awakeable_id)
    try:
        return f"resolved:{await future}"
    except restate.TerminalError as e:
        return f"rejected:{e.status_code}:{e.message}"


@awakeables.handler()
async def round_trip(ctx: Context) -> str:
    """Creates an awakeable and resolves it from another handler."""
    awakeable_id, future = ctx.awakeable(type_hint=str)
    ctx.service_send(resolve_it, arg=awakeable_id)
    value: str = await future
    return value


@awakeables.handler()
async def resolve_it(ctx: Context, awakeable_id: str) -> None:
    ctx.resolve_awakeable(awakeable_id, "from a handler")


versioned = restate.Service("Versioned")


@versioned.handler()
async def which(ctx: Context, ms: int) -> str:
    """Which deployment version ran this invocation (after an optional sleep)."""
    await ctx.run("started", lambda: _append(f"which{ms}.lines", "started"))
    await ctx.sleep(timedelta(milliseconds=ms))
    return os.environ.get("E2E_VERSION", "?")


options = restate.Service("Options", idempotency_retention=timedelta(seconds=1))


@options.handler(ingress_private=True)
async def private_echo(ctx: Context, text: str) -> str:
    return text


@options.handler()
async def public_proxy(ctx: Context, text: str) -> str:
    """Private handlers stay callable from other handlers."""
    return await ctx.service_call(private_echo, arg=text)


@options.handler(
    invocation_retry_policy=restate.InvocationRetryPolicy(
        initial_interval=timedelta(milliseconds=50), max_attempts=2, on_max_attempts="pause"
    )
)
async def fragile(ctx: Context, name: str) -> str:
    """Fails until the file <name>.fixed exists; pauses after two attempts."""

    def attempt() -> str:
        _append(f"{name}.attempts", "attempt")
        if not (E2E_DIR / f"{name}.fixed").exists():
            raise RuntimeError("not fixed yet")
        return "fixed"

    return await ctx.run("attempt", attempt)


@options.handler(
    inactivity_timeout=timedelta(milliseconds=300), abort_timeout=timedelta(milliseconds=300)
)
async def stuck_once(ctx: Context, name: str) -> str:
    """The first attempt hangs in user code; the server's watchdog aborts and retries it."""

    def work() -> str:
        _append(f"{name}.attempts", "attempt")
        if _count(f"{name}.attempts") == 1:
            time.sleep(5)
        return "done"

    return await ctx.run("work", work)


determinism = restate.Service("Determinism")


@determinism.handler()
async def values(ctx: Context, name: str) -> dict[str, object]:
    """random/uuid/time seen by every attempt (the second attempt replays the first)."""
    seen = {"random": ctx.random().random(), "uuid": str(ctx.uuid()), "time": await ctx.time()}
    _append(f"{name}.seen", json.dumps(seen, sort_keys=True))  # outside ctx.run on purpose

    def flaky_step() -> int:
        _append(f"{name}.steps", "x")
        if _count(f"{name}.steps") == 1:
            raise ConnectionError("fail the first attempt")
        return 1

    await ctx.run("step", flaky_step)
    return seen


chain = restate.VirtualObject("Chain")


@chain.handler()
async def hop(ctx: restate.ObjectContext, path: list[str]) -> list[str]:
    """One step of a chain of calls across keys (and so across partitions): a journaled side
    effect here, then a call to the next key; the last key sends a tally."""
    me = ctx.key()

    def visit() -> str:
        _append(f"chain-{me}.lines", "ran")
        return me

    await ctx.run("visit", visit)
    if not path:
        ctx.object_send(tally_add, key="chains", arg=1)
        return [me]
    rest: list[str] = await ctx.object_call(hop, key=path[0], arg=path[1:])
    return [me, *rest]


tally = restate.VirtualObject("Tally")


@tally.handler("add")
async def tally_add(ctx: restate.ObjectContext, n: int) -> int:
    current: int = await ctx.get("total") or 0
    ctx.set("total", current + n)
    return current + n


@tally.handler(kind="shared")
async def total(ctx: restate.ObjectSharedContext) -> int:
    current: int = await ctx.get("total") or 0
    return current


SERVICES = [
    determinism,
    chain,
    tally,
    options,
    versioned,
    greeter,
    counter,
    steps,
    flaky,
    writer,
    slow,
    sleepy,
    lists,
    caller,
    holder,
]
app = restate.app(services=[*SERVICES, awakeables])
