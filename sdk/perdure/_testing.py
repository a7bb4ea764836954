"""Protocol test kit: message builders and a driver of an in-process Invoke stream (for tests)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterable

from perdure._stream import InvokeStream
from perdure.endpoint import App
from perdure_proto import protocol_pb2 as pb


def value(data: bytes) -> pb.Result:
    return pb.Result(value=data)


def failure(code: int, message: str) -> pb.Result:
    return pb.Result(failure=pb.Failure(code=code, message=message))


def get_state(key: str, data: bytes | None) -> pb.JournalEntry:
    entry = pb.JournalEntry(get_state=pb.GetState(key=key))
    if data is not None:
        entry.get_state.value = data
    return entry


def set_state(key: str, data: bytes) -> pb.JournalEntry:
    return pb.JournalEntry(set_state=pb.SetState(key=key, value=data))


def run(name: str, result: pb.Result) -> pb.JournalEntry:
    return pb.JournalEntry(name=name, run=pb.Run(result=result))


def void() -> pb.Result:
    return pb.Result(void=pb.Void())


def completed(
    entry: pb.JournalEntry, result: pb.Result | None = None, invocation_id: str = ""
) -> pb.JournalEntry:
    """``entry`` as replayed once completed (with ``result`` and/or an invocation id)."""
    done = pb.JournalEntry()
    done.CopyFrom(entry)
    if result is not None:
        done.completion.CopyFrom(result)
    done.completion_invocation_id = invocation_id
    return done


def start(
    service: str,
    handler: str,
    input: bytes = b"",
    key: str = "",
    journal: Iterable[pb.JournalEntry] = (),
    state: dict[str, bytes] | None = None,
    seed: int = 7,
    headers: dict[str, str] | None = None,
    cancelled: bool = False,
) -> pb.Start:
    return pb.Start(
        service=service,
        handler=handler,
        key=key,
        input=input,
        journal=list(journal),
        state=[pb.StateEntry(key=k, value=v) for k, v in (state or {}).items()],
        random_seed=seed,
        headers=[pb.Header(key=k, value=v) for k, v in (headers or {}).items()],
        cancelled=cancelled,
    )


def msg_start(inv: str, st: pb.Start, attempt: int = 1) -> pb.ServerMessage:
    return pb.ServerMessage(invocation_id=inv, attempt=attempt, start=st)


def msg_ack(inv: str, up_to: int, attempt: int = 1) -> pb.ServerMessage:
    return pb.ServerMessage(invocation_id=inv, attempt=attempt, ack=pb.Ack(up_to_index=up_to))


def msg_completion(
    inv: str, index: int, result: pb.Result | None = None, invocation_id: str = "", attempt: int = 1
) -> pb.ServerMessage:
    completion = pb.Completion(index=index, invocation_id=invocation_id)
    if result is not None:
        completion.result.CopyFrom(result)
    return pb.ServerMessage(invocation_id=inv, attempt=attempt, completion=completion)


def msg_abort(inv: str, attempt: int = 1) -> pb.ServerMessage:
    return pb.ServerMessage(invocation_id=inv, attempt=attempt, abort=pb.Abort(reason="test"))


def msg_cancel(inv: str, attempt: int = 1) -> pb.ServerMessage:
    return pb.ServerMessage(invocation_id=inv, attempt=attempt, cancel=pb.Cancel())


def kinds(messages: Iterable[pb.DeploymentMessage]) -> list[str]:
    """Compact view: "command:get_state@1", "end", "error:570", "suspend:[2]"."""
    out = []
    for m in messages:
        k = m.WhichOneof("kind")
        if k == "command":
            out.append(f"command:{m.command.entry.WhichOneof('command')}@{m.command.index}")
        elif k == "error":
            out.append(f"error:{m.error.code}")
        elif k == "suspend":
            out.append(f"suspend:{list(m.suspend.waiting_on)}")
        else:
            out.append(str(k))
    return out


class FakeClock:
    """A clock whose sleeps return at once and advance time."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.sleeps: list[float] = []

    def monotonic(self) -> float:
        return self.now

    def now_ms(self) -> int:
        return int(self.now * 1000)

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds
        await asyncio.sleep(0)


class StreamDriver:
    """Feeds server messages into an ``InvokeStream`` and collects what it sends back."""

    def __init__(
        self, app: App, clock: FakeClock | None = None, always_replay: bool = False
    ) -> None:
        self.clock = clock or FakeClock()
        self.stream = InvokeStream(app.handler, None, self.clock, always_replay)
        self.batches: list[list[pb.DeploymentMessage]] = []

    def send(self, *messages: pb.ServerMessage) -> None:
        self.stream.on_batch(pb.ServerBatch(messages=list(messages)))

    async def next_batch(self, timeout: float = 5.0) -> list[pb.DeploymentMessage]:
        batch = await asyncio.wait_for(self.stream.next_batch(), timeout)
        if batch is None:
            raise EOFError("the stream ended")
        self.batches.append(list(batch.messages))
        return list(batch.messages)

    async def until(
        self, done: Callable[[list[pb.DeploymentMessage]], bool], timeout: float = 5.0
    ) -> list[pb.DeploymentMessage]:
        """Collect batches until ``done(all messages so far)``; returns all messages."""
        seen: list[pb.DeploymentMessage] = []
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while not done(seen):
            seen.extend(await self.next_batch(max(0.01, deadline - loop.time())))
        return seen

    async def idle(self, timeout: float = 5.0) -> list[pb.DeploymentMessage]:
        """Wait until the stream waits for the server, then return every message sent meanwhile.

        Waiting for the server: nothing is left to flush, and every attempt has either closed
        (its tasks finished) or has its handler blocked on a durable future that is not done,
        with no ``run`` action in flight and no suspension check pending. From then on nothing
        is sent until the next server message, so ``assert await driver.idle() == []`` proves
        that nothing is sent. Handlers await one durable future at a time (combinators wait on
        several through one waiter), so an unresolved waiter means the handler is blocked.
        Raises ``AssertionError`` if the stream is not idle within ``timeout`` seconds (a
        handler blocked on something else, such as a plain ``asyncio.Event``, never is).
        """
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while not self._waits_for_server():
            if loop.time() >= deadline:
                raise AssertionError(
                    f"the stream did not come to wait for the server within {timeout} s: "
                    f"{self._describe()}"
                )
            await asyncio.sleep(0.001)  # poll: a run action may be executing in a thread
        seen: list[pb.DeploymentMessage] = []
        out = self.stream._out
        while not out.empty():
            batch = out.get_nowait()
            if batch is None:
                break
            self.batches.append(list(batch.messages))
            seen.extend(batch.messages)
        return seen

    def _waits_for_server(self) -> bool:
        stream = self.stream
        if stream._flush_scheduled:
            return False
        for runner in stream._attempts.values():
            if runner._run_tasks:
                return False
            if runner.machine.closed is not None:
                if runner._task is not None and not runner._task.done():
                    return False
                continue
            waits = runner.waits
            if waits._suspend_check_pending:
                return False
            if not any(not w.future.done() for w in waits._waiters):
                return False
        return True

    def _describe(self) -> str:
        parts = [f"flush pending={self.stream._flush_scheduled}"]
        for invocation_id, runner in self.stream._attempts.items():
            waiting = [
                [h.index for h in w.handles] for w in runner.waits._waiters if not w.future.done()
            ]
            parts.append(
                f"{invocation_id}@{runner.attempt}: closed={runner.machine.closed}, "
                f"runs in flight={len(runner._run_tasks)}, blocked on={waiting}"
            )
        return "; ".join(parts)

    async def quiet(self, seconds: float = 0.05) -> list[pb.DeploymentMessage]:
        """Whatever arrives within ``seconds``: a fixed observation window, for the few tests
        whose handler waits on something outside the SDK (where ``idle`` cannot tell that it
        is blocked). Prefer ``idle``: a window this short can miss a late message."""
        try:
            return await self.next_batch(seconds)
        except TimeoutError:
            return []

    def close(self) -> None:
        self.stream.close()


def ended(inv: str) -> Callable[[list[pb.DeploymentMessage]], bool]:
    def check(ms: list[pb.DeploymentMessage]) -> bool:
        return any(
            m.invocation_id == inv and m.WhichOneof("kind") in ("end", "error", "suspend")
            for m in ms
        )

    return check


def commands_of(messages: Iterable[pb.DeploymentMessage]) -> list[pb.JournalEntry]:
    """The journal entries of the ``Command`` messages among ``messages``, in order."""
    return [m.command.entry for m in messages if m.WhichOneof("kind") == "command"]
