"""Workloads wrk cannot express: multi-request flows driven by an asyncio client
(closed loop, fixed concurrency), and the drain time of one-way sends."""

from __future__ import annotations

import asyncio
import time
import uuid

from bench import checks
from bench.checks import Check, Reply, Tally
from bench.wrk import Result
from node.local import http

FLOW_TIMEOUT_S = 30.0  # as wrk's --timeout: a flow slower than this counts as an error


class Connection:
    """A minimal HTTP/1.1 keep-alive client (httpx costs more CPU than the server it loads)."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer

    @classmethod
    async def open(cls, url: str) -> Connection:
        host, port = url.removeprefix("http://").split(":")
        reader, writer = await asyncio.open_connection(host, int(port))
        return cls(reader, writer)

    async def request(self, method: str, path: str, body: bytes = b"") -> Reply:
        head = (
            f"{method} {path} HTTP/1.1\r\nhost: bench\r\ncontent-type: application/json\r\n"
            f"content-length: {len(body)}\r\n\r\n"
        )
        self.writer.write(head.encode() + body)
        status_line = await self.reader.readline()
        if not status_line:
            raise ConnectionResetError("the server closed the connection")
        length = 0
        while (line := await self.reader.readline()) not in (b"\r\n", b""):
            name, _, value = line.partition(b":")
            if name.strip().lower() == b"content-length":
                length = int(value)
        payload = await self.reader.readexactly(length)
        return Reply(int(status_line.split()[1]), payload)

    def close(self) -> None:
        self.writer.close()


RESULT = checks.json_equal("charged 100: ok")  # Payment.run's answer to 100 approved with "ok"


async def _workflow_once(conn: Connection, tally: Tally) -> bool:
    """Start a Payment workflow, approve it, attach to its result; tally what went wrong.
    True when every answer was a right one."""
    key = uuid.uuid4().hex
    steps: tuple[tuple[str, str, bytes, Check], ...] = (
        ("POST", f"/Payment/{key}/run/send", b"100", checks.accepted),
        ("POST", f"/Payment/{key}/approve", b'"ok"', checks.any_2xx),
        ("GET", f"/restate/workflow/Payment/{key}/attach", b"", RESULT),
    )
    for method, path, body, check in steps:
        reply = await conn.request(method, path, body)
        if not reply.ok:
            tally.error(f"{method} {path}: {reply}")
            return False
        tally.checked += 1
        why = check(reply)
        if why is not None:
            tally.wrong_answer(f"{method} {path}: {why}")
            return False
    return True


async def _closed_loop(url: str, concurrency: int, seconds: float) -> Result:
    latencies: list[float] = []
    tally = Tally()
    deadline = time.perf_counter() + seconds

    async def worker() -> None:
        conn: Connection | None = None
        while time.perf_counter() < deadline:
            t0 = time.perf_counter()
            try:
                async with asyncio.timeout(FLOW_TIMEOUT_S):
                    conn = conn or await Connection.open(url)
                    if await _workflow_once(conn, tally):
                        latencies.append(time.perf_counter() - t0)
            except (OSError, asyncio.IncompleteReadError, TimeoutError, ValueError) as err:
                # The connection is in an unknown state: count it, start a fresh one.
                tally.error(f"workflow: {type(err).__name__}: {err}")
                if conn is not None:
                    conn.close()
                conn = None
        if conn is not None:
            conn.close()

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    elapsed = time.perf_counter() - started
    latencies.sort()

    def pct(p: float) -> float:
        return (
            latencies[min(len(latencies) - 1, int(len(latencies) * p))] * 1000 if latencies else 0.0
        )

    return Result(
        requests=len(latencies),
        seconds=elapsed,
        errors=tally.errors,
        checked=tally.checked,
        wrong=tally.wrong,
        samples=tuple(tally.samples),
        p50_ms=pct(0.5),
        p90_ms=pct(0.9),
        p99_ms=pct(0.99),
    )


def workflow(url: str, concurrency: int, seconds: float) -> Result:
    return asyncio.run(_closed_loop(url, concurrency, seconds))


def completed_total(admin_url: str) -> float:
    """Invocations ended so far on the node at `admin_url`."""
    _, _, body = http("GET", admin_url + "/metrics")
    return completed_in(body.decode())


def completed_in(exposition: str) -> float:
    """The sum of `perdure_invocations_completed_total` over its labels (outcome, service,
    handler) in a Prometheus text exposition."""
    total = 0.0
    for line in exposition.splitlines():
        name, _, value = line.rpartition(" ")
        if name.split("{", 1)[0] == "perdure_invocations_completed_total":
            total += float(value)
    return total


def drain_seconds(admin_url: str, target: float, timeout: float = 300) -> float | None:
    """Seconds until `target` invocations have completed in total; None if they did not
    within `timeout`."""
    started = time.perf_counter()
    while completed_total(admin_url) < target:
        if time.perf_counter() - started > timeout:
            return None
        time.sleep(0.05)
    return time.perf_counter() - started
