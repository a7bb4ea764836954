"""Services for the conformance scenarios: Perdure's versions of the services Restate's SDK test
suite drives (restatedev/sdk-test-suite), written as a restate-sdk user would write them.

Side effects append lines to files under $CONFORMANCE_DIR so the tests can count how often each
step really ran, across retries, replays and process kills. Counters that only need to survive
within one deployment process (attempt counts) live in module globals, as in Restate's own test
services.
"""

from __future__ import annotations

import os
import time
from datetime import timedelta
from pathlib import Path
from typing import Any, Literal, TypedDict

import perdure as restate
from perdure import (
    Context,
    InvocationRetryPolicy,
    ObjectContext,
    ObjectSharedContext,
    RunOptions,
    TerminalError,
    WorkflowContext,
    WorkflowSharedContext,
)
from perdure.serde import BytesSerde

CONFORMANCE_DIR = Path(os.environ.get("CONFORMANCE_DIR", "/tmp"))

# Retry fast: the scenarios that fail on purpose should not wait for the 500 ms default backoff.
FAST_RETRY = InvocationRetryPolicy(
    initial_interval=timedelta(milliseconds=50), max_interval=timedelta(milliseconds=200)
)


def _append(file: str, line: str) -> None:
    with open(CONFORMANCE_DIR / file, "a") as fh:
        fh.write(line + "\n")
        fh.flush()
        os.fsync(fh.fileno())


def _count(file: str) -> int:
    try:
        return len((CONFORMANCE_DIR / file).read_text().splitlines())
    except FileNotFoundError:
        return 0


# ------------------------------------------------------------------------------------ Counter

counter = restate.VirtualObject("Counter")


class CounterUpdate(TypedDict):
    oldValue: int
    newValue: int


@counter.handler()
async def add(ctx: ObjectContext, value: int) -> CounterUpdate:
    old: int = await ctx.get("counter", type_hint=int) or 0
    ctx.set("counter", old + value)
    return {"oldValue": old, "newValue": old + value}


@counter.handler(name="addThenFail")
async def add_then_fail(ctx: ObjectContext, value: int) -> None:
    old: int = await ctx.get("counter", type_hint=int) or 0
    ctx.set("counter", old + value)
    raise TerminalError(ctx.key())


@counter.handler(kind="shared")
async def get(ctx: ObjectSharedContext) -> int:
    return await ctx.get("counter", type_hint=int) or 0


@counter.handler()
async def reset(ctx: ObjectContext) -> None:
    ctx.clear("counter")


# --------------------------------------------------------------------------------- MapObject

map_object = restate.VirtualObject("MapObject")


class Entry(TypedDict):
    key: str
    value: str


@map_object.handler(name="set")
async def map_set(ctx: ObjectContext, entry: Entry) -> None:
    ctx.set(entry["key"], entry["value"])


@map_object.handler(name="get")
async def map_get(ctx: ObjectContext, key: str) -> str:
    return await ctx.get(key, type_hint=str) or ""


@map_object.handler(name="clearAll")
async def map_clear_all(ctx: ObjectContext) -> list[Entry]:
    entries: list[Entry] = []
    for key in await ctx.state_keys():
        entries.append({"key": key, "value": await ctx.get(key, type_hint=str) or ""})
    ctx.clear_all()
    return entries


# -------------------------------------------------------------------------------- ListObject

list_object = restate.VirtualObject("ListObject")


@list_object.handler(name="append")
async def list_append(ctx: ObjectContext, value: str) -> None:
    items: list[str] = await ctx.get("list") or []
    ctx.set("list", [*items, value])


@list_object.handler(name="get")
async def list_get(ctx: ObjectContext) -> list[str]:
    return await ctx.get("list") or []


@list_object.handler(name="clear")
async def list_clear(ctx: ObjectContext) -> list[str]:
    items: list[str] = await ctx.get("list") or []
    ctx.clear("list")
    return items


# ------------------------------------------------------------------------------------- Proxy

proxy = restate.Service("Proxy")


class ProxyRequest(TypedDict, total=False):
    serviceName: str
    virtualObjectKey: str | None
    handlerName: str
    message: list[int]  # the raw request body, as bytes
    delayMillis: int | None
    idempotencyKey: str | None


class ManyCallRequest(TypedDict):
    proxyRequest: ProxyRequest
    oneWayCall: bool
    awaitAtTheEnd: bool


def _proxy_call(ctx: Context, req: ProxyRequest) -> restate.RestateDurableCallFuture[bytes]:
    return ctx.generic_call(
        req["serviceName"],
        req["handlerName"],
        bytes(req["message"]),
        req.get("virtualObjectKey"),
        idempotency_key=req.get("idempotencyKey"),
    )


def _proxy_send(ctx: Context, req: ProxyRequest) -> restate.SendHandle:
    delay = req.get("delayMillis")
    return ctx.generic_send(
        req["serviceName"],
        req["handlerName"],
        bytes(req["message"]),
        req.get("virtualObjectKey"),
        send_delay=timedelta(milliseconds=delay) if delay is not None else None,
        idempotency_key=req.get("idempotencyKey"),
    )


@proxy.handler()
async def call(ctx: Context, req: ProxyRequest) -> list[int]:
    return list(await _proxy_call(ctx, req))


@proxy.handler(name="oneWayCall")
async def one_way_call(ctx: Context, req: ProxyRequest) -> str:
    return await _proxy_send(ctx, req).invocation_id()


@proxy.handler(name="manyCalls")
async def many_calls(ctx: Context, requests: list[ManyCallRequest]) -> None:
    to_await = []
    for req in requests:
        if req["oneWayCall"]:
            _proxy_send(ctx, req["proxyRequest"])
        else:
            future = _proxy_call(ctx, req["proxyRequest"])
            if req["awaitAtTheEnd"]:
                to_await.append(future)
    for future in to_await:
        await future


# -------------------------------------------------------------------------- TestUtilsService

test_utils = restate.Service("TestUtilsService")


@test_utils.handler()
async def echo(ctx: Context, value: str) -> str:
    return value


@test_utils.handler(name="uppercaseEcho")
async def uppercase_echo(ctx: Context, value: str) -> str:
    return value.upper()


@test_utils.handler(name="echoHeaders")
async def echo_headers(ctx: Context) -> dict[str, str]:
    return dict(ctx.request().headers)


@test_utils.handler(name="callEchoHeaders")
async def call_echo_headers(ctx: Context, value: str) -> dict[str, str]:
    """Calls echoHeaders with an extra header: headers travel on handler-to-handler calls."""
    return await ctx.service_call(echo_headers, arg=None, headers={"x-from-handler": value})


@test_utils.handler(
    name="rawEcho",
    accept="*/*",
    content_type="application/octet-stream",
    input_serde=BytesSerde(),
    output_serde=BytesSerde(),
)
async def raw_echo(ctx: Context, value: bytes) -> bytes:
    return value


@test_utils.handler(name="rawReverse")
async def raw_reverse(ctx: Context, value: str) -> str:
    """Calls rawEcho with bytes that are not JSON and checks they come back unchanged."""
    payload = bytes(range(256)) + value.encode()
    echoed = await ctx.generic_call("TestUtilsService", "rawEcho", payload)
    if echoed != payload:
        raise TerminalError(f"rawEcho changed the bytes: {echoed!r}")
    return echoed[256:].decode()[::-1]


@test_utils.handler(name="cancelInvocation")
async def cancel_invocation(ctx: Context, invocation_id: str) -> None:
    ctx.cancel_invocation(invocation_id)


@test_utils.handler(name="sleepConcurrently")
async def sleep_concurrently(ctx: Context, millis: list[int]) -> None:
    """Starts one timer per duration and waits for all of them (marks its start in a file)."""
    name = ctx.request().id
    await ctx.run("started", lambda: _append(f"{name}.sleep", "started"))
    timers = [ctx.sleep(timedelta(milliseconds=ms)) for ms in millis]
    await restate.gather(*timers)
    await ctx.run("woke", lambda: _append(f"{name}.sleep", "woke"))


class AwakeableKey(TypedDict):
    awakeableKey: str


@test_utils.handler(name="createAwakeableAndAwaitIt")
async def create_awakeable_and_await_it(ctx: Context, req: AwakeableKey) -> str:
    awakeable_id, future = ctx.awakeable(type_hint=str)
    await ctx.object_call(hold, key=req["awakeableKey"], arg=awakeable_id)
    return await future


# --------------------------------------------------------------------------- AwakeableHolder

awakeable_holder = restate.VirtualObject("AwakeableHolder")


@awakeable_holder.handler()
async def hold(ctx: ObjectContext, awakeable_id: str) -> None:
    ctx.set("id", awakeable_id)


@awakeable_holder.handler(name="hasAwakeable", kind="shared")
async def has_awakeable(ctx: ObjectSharedContext) -> bool:
    return await ctx.get("id", type_hint=str) is not None


@awakeable_holder.handler(name="getAwakeable", kind="shared")
async def get_awakeable(ctx: ObjectSharedContext) -> str | None:
    return await ctx.get("id", type_hint=str)


@awakeable_holder.handler()
async def unlock(ctx: ObjectContext, payload: str) -> None:
    awakeable_id = await ctx.get("id", type_hint=str)
    if awakeable_id is None:
        raise TerminalError("No awakeable registered", status_code=404)
    ctx.resolve_awakeable(awakeable_id, payload)
    ctx.clear("id")


# ----------------------------------------------------------------------------------- Failing

failing = restate.VirtualObject("Failing", invocation_retry_policy=FAST_RETRY)

_attempts: dict[str, int] = {}


def _next_attempt(counter_name: str) -> int:
    _attempts[counter_name] = _attempts.get(counter_name, 0) + 1
    return _attempts[counter_name]


class FailureRequest(TypedDict):
    message: str
    code: int


@failing.handler(name="terminallyFailingCall")
async def terminally_failing_call(ctx: ObjectContext, req: FailureRequest) -> None:
    raise TerminalError(req["message"], status_code=req["code"], metadata={"key": ctx.key()})


@failing.handler(name="callTerminallyFailingCall")
async def call_terminally_failing_call(ctx: ObjectContext, req: FailureRequest) -> str:
    await ctx.object_call(terminally_failing_call, key=f"{ctx.key()}-callee", arg=req)
    raise ValueError("Should not reach here")


@failing.handler(name="failingCallWithEventualSuccess")
async def failing_call_with_eventual_success(ctx: ObjectContext) -> int:
    attempt = _next_attempt(f"eventual-{ctx.key()}")
    if attempt >= 4:
        return attempt
    raise ValueError(f"Failed at attempt: {attempt}")


@failing.handler(name="terminallyFailingSideEffect")
async def terminally_failing_side_effect(ctx: ObjectContext, message: str) -> None:
    def side_effect() -> None:
        raise TerminalError(message, status_code=422)

    await ctx.run("sideEffect", side_effect)
    raise ValueError("Should not reach here")


@failing.handler(name="sideEffectSucceedsAfterGivenAttempts")
async def side_effect_succeeds_after_given_attempts(ctx: ObjectContext, attempts: int) -> int:
    def side_effect() -> int:
        attempt = _next_attempt(f"run-success-{ctx.key()}")
        if attempt >= attempts:
            return attempt
        raise ValueError(f"Failed at attempt: {attempt}")

    options: RunOptions[int] = RunOptions(
        max_attempts=attempts + 1, initial_retry_interval=timedelta(milliseconds=10)
    )
    return await ctx.run_typed("sideEffect", side_effect, options)


class ExhaustedRun(TypedDict):
    attempts: int
    code: int
    message: str


@failing.handler(name="sideEffectFailsAfterGivenAttempts")
async def side_effect_fails_after_given_attempts(ctx: ObjectContext, attempts: int) -> ExhaustedRun:
    def side_effect() -> int:
        attempt = _next_attempt(f"run-exhausted-{ctx.key()}")
        raise ValueError(f"Failed at attempt: {attempt}")

    options: RunOptions[int] = RunOptions(
        max_attempts=attempts, initial_retry_interval=timedelta(milliseconds=10)
    )
    try:
        await ctx.run_typed("sideEffect", side_effect, options)
    except TerminalError as e:
        return {
            "attempts": _attempts[f"run-exhausted-{ctx.key()}"],
            "code": e.status_code,
            "message": e.message,
        }
    raise TerminalError("the side effect should have failed")


@failing.handler(name="sideEffectOnceThenFail")
async def side_effect_once_then_fail(ctx: ObjectContext) -> str:
    """A run that succeeds, then a sleep (suspension + replay) and an attempt failure: the
    successful run must not execute again on the replays."""
    name = f"once-{ctx.key()}"

    def effect() -> str:
        _append(name, "ran")
        return "effect-result"

    result = await ctx.run_typed("effect", effect)
    await ctx.sleep(timedelta(milliseconds=10))
    if _next_attempt(name) <= 2:
        raise ConnectionError("transient failure after the run")
    return result


# ---------------------------------------------------------------------------------- Sleeping

sleeping = restate.Service("Sleeping", invocation_retry_policy=FAST_RETRY)


@sleeping.handler(name="sleepAcrossFailure")
async def sleep_across_failure(ctx: Context, millis: int) -> str:
    """Starts a timer, then an attempt fails (slowly) once; the retry replays the same timer, so
    the handler ends `millis` after it started, not `millis` after the retry."""
    name = ctx.request().id
    timer = ctx.sleep(timedelta(milliseconds=millis))

    def flaky() -> str:
        _append(f"{name}.flaky", "ran")
        if _count(f"{name}.flaky") == 1:
            time.sleep(millis / 2000)
            raise ConnectionError("the first attempt fails halfway through the sleep")
        return "ok"

    await ctx.run_typed("flaky", flaky)
    await timer
    return "slept"


@sleeping.handler(name="failAfterSleep")
async def fail_after_sleep(ctx: Context, millis: int) -> str:
    """Sleeps, then the attempt fails once: the retry does not sleep again."""
    await ctx.sleep(timedelta(milliseconds=millis))
    if _next_attempt(f"after-sleep-{ctx.request().id}") == 1:
        raise ConnectionError("fails once after the sleep")
    return "slept"


# -------------------------------------------------------------------------- NonDeterministic

non_deterministic = restate.VirtualObject("NonDeterministic")

_seen: set[str] = set()


def _first_execution(ctx: ObjectContext) -> bool:
    """True only the first time this key runs in this process: every replay takes the other
    branch, so every retry meets a journal mismatch."""
    first = ctx.key() not in _seen
    _seen.add(ctx.key())
    return first


KILL_AFTER_TWO = InvocationRetryPolicy(
    initial_interval=timedelta(milliseconds=50), max_attempts=2, on_max_attempts="kill"
)


def _increment_counter(ctx: ObjectContext) -> None:
    ctx.object_send(add, key=ctx.key(), arg=1)


@non_deterministic.handler(name="eitherSleepOrCall", invocation_retry_policy=KILL_AFTER_TWO)
async def either_sleep_or_call(ctx: ObjectContext) -> None:
    if _first_execution(ctx):
        await ctx.sleep(timedelta(milliseconds=100))
    else:
        await ctx.object_call(get, key="abc", arg=None)
    await ctx.sleep(timedelta(milliseconds=100))
    _increment_counter(ctx)


@non_deterministic.handler(name="callDifferentMethod", invocation_retry_policy=KILL_AFTER_TWO)
async def call_different_method(ctx: ObjectContext) -> None:
    if _first_execution(ctx):
        await ctx.object_call(get, key="abc", arg=None)
    else:
        await ctx.object_call(reset, key="abc", arg=None)
    await ctx.sleep(timedelta(milliseconds=100))
    _increment_counter(ctx)


@non_deterministic.handler(
    name="backgroundInvokeWithDifferentTargets", invocation_retry_policy=KILL_AFTER_TWO
)
async def background_invoke_with_different_targets(ctx: ObjectContext) -> None:
    if _first_execution(ctx):
        ctx.object_send(get, key="abc", arg=None)
    else:
        ctx.object_send(reset, key="abc", arg=None)
    await ctx.sleep(timedelta(milliseconds=100))
    _increment_counter(ctx)


@non_deterministic.handler(name="setDifferentKey", invocation_retry_policy=KILL_AFTER_TWO)
async def set_different_key(ctx: ObjectContext) -> None:
    if _first_execution(ctx):
        ctx.set("a", "my-state")
    else:
        ctx.set("b", "my-state")
    await ctx.sleep(timedelta(milliseconds=100))
    _increment_counter(ctx)


# ------------------------------------------------------------------------------ Kill scenario

kill_runner = restate.VirtualObject("KillTestRunner")


@kill_runner.handler(name="startCallTree")
async def start_call_tree(ctx: ObjectContext) -> None:
    await ctx.object_call(recursive_call, key=ctx.key(), arg=None)


kill_singleton = restate.VirtualObject("KillTestSingleton")


@kill_singleton.handler(name="recursiveCall")
async def recursive_call(ctx: ObjectContext) -> None:
    """Parks an awakeable, then calls itself on its own key: the inner call waits in the key's
    inbox behind this invocation forever (its idempotency key lets the test see it exists)."""
    awakeable_id, future = ctx.awakeable(type_hint=str)
    ctx.object_send(hold, key=ctx.key(), arg=awakeable_id)
    await future
    await ctx.object_call(recursive_call, key=ctx.key(), arg=None, idempotency_key="inner")


@kill_singleton.handler(name="isUnlocked")
async def kill_is_unlocked(ctx: ObjectContext) -> None:
    return None


@kill_runner.handler(name="sendThenBlock")
async def send_then_block(ctx: ObjectContext) -> None:
    """Sends a child (idempotency key ``child-of-<key>``) that blocks on an awakeable parked in
    AwakeableHolder/<key>-child, then blocks on its own awakeable (AwakeableHolder/<key>)."""
    ctx.object_send(
        create_awakeable_and_await_it_vo,
        key=f"{ctx.key()}-child",
        arg=None,
        idempotency_key=f"child-of-{ctx.key()}",
    )
    awakeable_id, future = ctx.awakeable(type_hint=str)
    ctx.object_send(hold, key=ctx.key(), arg=awakeable_id)
    await future


blocked = restate.VirtualObject("Blocked")


@blocked.handler(name="awaitAwakeable")
async def create_awakeable_and_await_it_vo(ctx: ObjectContext) -> str:
    awakeable_id, future = ctx.awakeable(type_hint=str)
    ctx.object_send(hold, key=ctx.key(), arg=awakeable_id)
    return f"child:{await future}"


# ---------------------------------------------------------------------- Cancellation scenario

BlockingOperation = Literal["CALL", "WORK_THEN_CALL", "SLEEP", "AWAKEABLE"]

cancel_runner = restate.VirtualObject("CancelTestRunner")


@cancel_runner.handler(name="startTest")
async def start_test(ctx: ObjectContext, op: BlockingOperation) -> None:
    try:
        await ctx.object_call(block, key=ctx.key(), arg=op)
    except TerminalError as e:
        if e.status_code != 409:
            raise
        ctx.set("state", True)


@cancel_runner.handler(name="verifyTest")
async def verify_test(ctx: ObjectContext) -> bool:
    return await ctx.get("state", type_hint=bool) or False


blocking_service = restate.VirtualObject("CancelTestBlockingService")


@blocking_service.handler()
async def block(ctx: ObjectContext, op: BlockingOperation) -> None:
    awakeable_id, awakeable = ctx.awakeable(type_hint=str)
    await ctx.object_call(hold, key=f"cancel-{ctx.key()}", arg=awakeable_id)
    await awakeable
    if op == "CALL":
        # Queues behind this invocation on the same key; the idempotency key lets the tests
        # see when it exists (GET /restate/invocation/.../block/inner/output answers 470).
        await ctx.object_call(block, key=ctx.key(), arg=op, idempotency_key="inner")
    elif op == "WORK_THEN_CALL":
        # Synchronous work between two awaits: a cancellation arriving now is applied before
        # the call below is journaled. The marker file tells the test when to cancel.
        _append(f"{ctx.key()}.working", "yes")
        time.sleep(1)
        inner: BlockingOperation = "CALL"
        await ctx.object_call(block, key=ctx.key(), arg=inner, idempotency_key="inner")
    elif op == "SLEEP":
        await ctx.sleep(timedelta(days=1024))
    elif op == "AWAKEABLE":
        _, uncompletable = ctx.awakeable(type_hint=str)
        await uncompletable


@blocking_service.handler(name="isUnlocked")
async def cancel_is_unlocked(ctx: ObjectContext) -> None:
    return None


compensating = restate.Service("Compensating")


@compensating.handler(name="bookTrip")
async def book_trip(ctx: Context, name: str) -> str:
    """Books a step, then waits an hour; a cancellation runs the compensation and re-raises."""
    await ctx.run("book", lambda: _append(f"{name}.trip", "booked"))
    try:
        await ctx.sleep(timedelta(hours=1))
    except TerminalError:
        await ctx.run("compensate", lambda: _append(f"{name}.trip", "compensated"))
        raise
    return "travelled"


@compensating.handler(name="callBookTrip")
async def call_book_trip(ctx: Context, name: str) -> str:
    """Calls bookTrip and reports the error it sees once the callee is cancelled."""
    try:
        return await ctx.service_call(book_trip, arg=name)
    except TerminalError as e:
        return f"{e.status_code}:{e.message}"


# --------------------------------------------------------------------------------- Combinators

combinators = restate.VirtualObject("Combinators")


@combinators.handler(name="awakeableOrTimeout")
async def awakeable_or_timeout(ctx: ObjectContext, timeout_millis: int) -> str:
    """select over an awakeable (parked in AwakeableHolder/<key>) and a timer."""
    awakeable_id, awakeable = ctx.awakeable(type_hint=str)
    ctx.object_send(hold, key=ctx.key(), arg=awakeable_id)
    match await restate.select(
        awakeable=awakeable, timeout=ctx.sleep(timedelta(milliseconds=timeout_millis))
    ):
        case ["awakeable", value]:
            return f"awakeable:{value}"
        case _:
            return "timeout"


@combinators.handler(name="awaitAwakeableOrTimeout")
async def await_awakeable_or_timeout(ctx: ObjectContext, timeout_millis: int) -> str:
    """Like awakeableOrTimeout, but a timeout is a terminal error."""
    _, awakeable = ctx.awakeable(type_hint=str)
    match await restate.select(
        awakeable=awakeable, timeout=ctx.sleep(timedelta(milliseconds=timeout_millis))
    ):
        case ["awakeable", value]:
            return str(value)
        case _:
            raise TerminalError("await-timeout", status_code=408)


async def _first_successful(futures: list[Any]) -> Any:
    pending = futures
    while pending:
        done, pending = await restate.wait_completed(*pending)
        for future in done:
            try:
                return await future
            except TerminalError:
                continue
    raise TerminalError("every future failed")


@combinators.handler(name="firstSuccessfulAwakeable")
async def first_successful_awakeable(ctx: ObjectContext) -> str:
    """Three awakeables (parked in AwakeableHolder/<key>-<i>) and three runs that fail
    terminally: the first awakeable resolved successfully wins."""
    futures: list[Any] = []
    for i in range(3):
        awakeable_id, awakeable = ctx.awakeable(type_hint=str)
        ctx.object_send(hold, key=f"{ctx.key()}-{i}", arg=awakeable_id)
        futures.append(awakeable)

        def fail(i: int = i) -> str:
            raise TerminalError(f"run{i} failed")

        futures.append(ctx.run_typed(f"run{i}", fail))
    result: str = await _first_successful(futures)
    return result


@combinators.handler(name="firstSuccessfulCall")
async def first_successful_call(ctx: ObjectContext) -> str:
    """The first of several calls to succeed: one fails at once, one answers after 100 ms, one
    after 20 s."""
    failing_call = ctx.object_call(
        terminally_failing_call, key=ctx.key(), arg=FailureRequest(message="no", code=500)
    )
    fast = ctx.service_call(delayed_echo, arg=DelayedEcho(value="fast", millis=100))
    slow = ctx.service_call(delayed_echo, arg=DelayedEcho(value="slow", millis=20_000))
    result: str = await _first_successful([failing_call, slow, fast])
    return result


@combinators.handler(name="gatherCalls")
async def gather_calls(ctx: ObjectContext, values: list[str]) -> list[str]:
    """gather over calls with decreasing delays and a timer: results in argument order."""
    calls = [
        ctx.service_call(delayed_echo, arg=DelayedEcho(value=v, millis=50 * (len(values) - i)))
        for i, v in enumerate(values)
    ]
    timer = ctx.sleep(timedelta(milliseconds=10))
    done = await restate.gather(*calls, timer)
    return [await f for f in done[: len(values)]]


class DelayedEcho(TypedDict):
    value: str
    millis: int


delayed = restate.Service("Delayed")


@delayed.handler(name="echo")
async def delayed_echo(ctx: Context, req: DelayedEcho) -> str:
    await ctx.sleep(timedelta(milliseconds=req["millis"]))
    return req["value"]


# ------------------------------------------------------------------------- Workflow promises

block_and_wait = restate.Workflow("BlockAndWaitWorkflow")


@block_and_wait.main()
async def run(ctx: WorkflowContext, value: str) -> str:
    ctx.set("my-state", value)
    output = await ctx.promise("durable-promise", type_hint=str).value()
    peeked = await ctx.promise("durable-promise", type_hint=str).peek()
    if peeked is None:
        raise TerminalError("Durable promise should be completed")
    return output


@block_and_wait.handler()
async def unblock(ctx: WorkflowSharedContext, output: str) -> None:
    await ctx.promise("durable-promise", type_hint=str).resolve(output)


@block_and_wait.handler(name="rejectPromise")
async def reject_promise(ctx: WorkflowSharedContext, message: str) -> None:
    await ctx.promise("durable-promise", type_hint=str).reject(message, 422)


@block_and_wait.handler(name="getState")
async def get_state(ctx: WorkflowSharedContext) -> str | None:
    return await ctx.get("my-state", type_hint=str)


@block_and_wait.handler(name="peekPromise")
async def peek_promise(ctx: WorkflowSharedContext) -> str | None:
    return await ctx.promise("durable-promise", type_hint=str).peek()


app = restate.app(
    services=[
        counter,
        map_object,
        list_object,
        proxy,
        test_utils,
        awakeable_holder,
        failing,
        sleeping,
        non_deterministic,
        kill_runner,
        kill_singleton,
        blocked,
        cancel_runner,
        blocking_service,
        compensating,
        combinators,
        delayed,
        block_and_wait,
    ]
)
