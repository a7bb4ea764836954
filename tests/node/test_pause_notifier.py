"""The leader's pause notifier (node/pause_webhook.py) over a real partition store and state
machine and a real HTTP webhook: notices found on taking leadership are pushed until the webhook
takes them, then dropped through the log; moot ones are not pushed; with no webhook they are
dropped. Only time is fast (sleeps are recorded and return at once)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from log.memory import MemoryLog
from node.clock import Cancellable
from node.pause_webhook import PauseNotifier
from node.proposer import Proposer
from partition import on_pause, tables
from perdure_proto import protocol_pb2 as pb
from perdure_proto import records_pb2 as rec
from tests.partition.scenario import Scenario


class ApplyingLog(MemoryLog):
    """Commits at once and applies each record to the scenario's partition, as a replica would."""

    def __init__(self, sc: Scenario) -> None:
        super().__init__()
        self.sc = sc
        self.records: list[rec.Envelope] = []

    async def append(self, record: bytes) -> int:
        lsn = await super().append(record)
        envelope = rec.Envelope.FromString(record)
        self.records.append(envelope)
        self.sc.apply(envelope)
        return lsn


class QuickClock:
    def __init__(self) -> None:
        self.slept: list[float] = []

    def now_ms(self) -> int:
        return 1_000_000

    def monotonic(self) -> float:
        return 0.0

    async def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        await asyncio.sleep(0)

    def call_later(self, seconds: float, callback: Callable[[], None]) -> Cancellable:
        return asyncio.get_running_loop().call_later(0, callback)


class Webhook:
    """Answers the first `refuse` POSTs 503, the others 200."""

    def __init__(self, refuse: int) -> None:
        self.refuse = refuse
        self.posts: list[dict[str, Any]] = []
        self.server: asyncio.Server | None = None

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        head = await reader.readuntil(b"\r\n\r\n")
        length = next(
            int(line.split(b":")[1])
            for line in head.split(b"\r\n")
            if line.lower().startswith(b"content-length:")
        )
        self.posts.append(json.loads(await reader.readexactly(length)))
        status = b"503 Service Unavailable" if len(self.posts) <= self.refuse else b"200 OK"
        writer.write(b"HTTP/1.1 " + status + b"\r\ncontent-length: 0\r\n\r\n")
        await writer.drain()
        writer.close()

    async def __aenter__(self) -> str:
        self.server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        return f"http://127.0.0.1:{self.server.sockets[0].getsockname()[1]}/paused"

    async def __aexit__(self, *exc: object) -> None:
        assert self.server is not None
        self.server.close()
        await self.server.wait_closed()


def paused_invocations(sc: Scenario, *invocation_ids: str) -> None:
    sc.register()
    for invocation_id in invocation_ids:
        sc.invoke(invocation_id, "Counter", "add", key=f"{invocation_id}-key", send=True)
        failure = pb.Failure(code=500, message="boom")
        pause = rec.PauseInvocation(invocation_id=invocation_id, last_failure=failure)
        sc.apply(rec.Envelope(pause_invocation=pause))


@asynccontextmanager
async def notifying(
    sc: Scenario, url: str, clock: QuickClock
) -> AsyncIterator[tuple[PauseNotifier, ApplyingLog]]:
    log_ = ApplyingLog(sc)
    await log_.start()
    notifier = PauseNotifier(url, sc.store, Proposer(log_), clock)
    task = asyncio.create_task(notifier.run())
    try:
        yield notifier, log_
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)


async def until_no_notices(sc: Scenario) -> None:
    async with asyncio.timeout(10):
        while tables.pause_notices(sc.store):
            await asyncio.sleep(0.01)


def dropped(log_: ApplyingLog) -> list[list[str]]:
    return [list(r.pause_notified.invocation_ids) for r in log_.records]


async def test_a_notice_found_on_taking_leadership_is_pushed_until_taken_then_dropped(
    tmp_path: Path,
) -> None:
    sc = Scenario(tmp_path)
    paused_invocations(sc, "inv_a")
    clock = QuickClock()
    webhook = Webhook(refuse=8)
    async with webhook as url, notifying(sc, url, clock) as (_, log_):
        await until_no_notices(sc)
    assert len(webhook.posts) == 9 and all(p == webhook.posts[0] for p in webhook.posts)
    note = webhook.posts[0]
    assert (note["invocation_id"], note["target"], note["status"]) == (
        "inv_a",
        "Counter/inv_a-key/add",
        "paused",
    )
    assert note["paused_at"] == "1970-01-01T00:16:40.000Z"  # the pause's record time
    assert clock.slept == [0.5, 1.0, 2.0, 4.0, 8.0, 16.0, 30.0, 30.0]  # capped backoff
    assert dropped(log_) == [["inv_a"]]


async def test_an_invocation_no_longer_paused_is_not_pushed(tmp_path: Path) -> None:
    sc = Scenario(tmp_path)
    paused_invocations(sc, "inv_a")
    resume = rec.InvocationCommand(invocation_id="inv_a", command=rec.RESUME)
    sc.apply(rec.Envelope(invocation_command=resume))
    webhook = Webhook(refuse=0)
    async with webhook as url, notifying(sc, url, QuickClock()) as (_, log_):
        await until_no_notices(sc)
    assert webhook.posts == []
    assert dropped(log_) == [["inv_a"]]


async def test_a_new_pause_is_pushed_as_it_happens(tmp_path: Path) -> None:
    sc = Scenario(tmp_path)
    webhook = Webhook(refuse=0)
    async with webhook as url, notifying(sc, url, QuickClock()) as (notifier, log_):
        paused_invocations(sc, "inv_b")
        (notice,) = tables.pause_notices(sc.store)
        status = tables.get_status(sc.store, "inv_b")
        assert status is not None
        notifier.notify(on_pause.paused("inv_b", status, notice[1]))
        await until_no_notices(sc)
    assert [p["invocation_id"] for p in webhook.posts] == ["inv_b"]
    assert dropped(log_) == [["inv_b"]]


async def test_without_a_webhook_notices_are_dropped_together(tmp_path: Path) -> None:
    sc = Scenario(tmp_path)
    paused_invocations(sc, "inv_a", "inv_b", "inv_c")
    async with notifying(sc, "", QuickClock()) as (_, log_):
        await until_no_notices(sc)
    assert dropped(log_) == [["inv_a", "inv_b", "inv_c"]]
