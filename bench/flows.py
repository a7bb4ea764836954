"""Workloads wrk cannot express: multi-request flows driven by an asyncio client
(closed loop, fixed concurrency), and the drain time of one-way sends."""

from __future__ import annotations

import asyncio
import time
import uuid

from bench.wrk import Result
from node.local import http


class Error(Exception):
    """A request of a flow failed."""


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

    async def request(self, method: str, path: str, body: bytes = b"") -> bytes:
        head = (
            f"{method} {path} HTTP/1.1\r\nhost: bench\r\ncontent-type: application/json\r\n"
            f"content-length: {len(body)}\r\n\r\n"
        )
        self.writer.write(head.encode() + body)
        status_line = await self.reader.readline()
        length = 0
        while (line := await self.reader.readline()) not in (b"\r\n", b""):
            name, _, value = line.partition(b":")
            if name.strip().lower() == b"content-length":
                length = int(value)
        payload = await self.reader.readexactly(length)
        status = int(status_line.split()[1])
        if status >= 300:
            raise Error(f"{method} {path}: {status} {payload[:200]!r}")
        return payload

    def close(self) -> None:
        self.writer.close()


async def _workflow_once(conn: Connection) -> None:
    key = uuid.uuid4().hex
    await conn.request("POST", f"/Payment/{key}/run/send", b"100")
    await conn.request("POST", f"/Payment/{key}/approve", b'"ok"')
    await conn.request("GET", f"/restate/workflow/Payment/{key}/attach")


async def _closed_loop(url: str, concurrency: int, seconds: float) -> Result:
    latencies: list[float] = []
    errors = 0
    deadline = time.perf_counter() + seconds

    async def worker() -> None:
        nonlocal errors
        conn = await Connection.open(url)
        try:
            while time.perf_counter() < deadline:
                t0 = time.perf_counter()
                try:
                    await _workflow_once(conn)
                except Error:
                    errors += 1
                    continue
                latencies.append(time.perf_counter() - t0)
        finally:
            conn.close()

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    elapsed = time.perf_counter() - started
    latencies.sort()

    def pct(p: float) -> float:
        return latencies[min(len(latencies) - 1, int(len(latencies) * p))] * 1000

    if not latencies:
        return Result(0, elapsed, errors, 0.0, 0.0, 0.0)
    return Result(len(latencies), elapsed, errors, pct(0.5), pct(0.9), pct(0.99))


def workflow(url: str, concurrency: int, seconds: float) -> Result:
    return asyncio.run(_closed_loop(url, concurrency, seconds))


def completed_total(admin_url: str) -> float:
    _, _, body = http("GET", admin_url + "/metrics")
    for line in body.decode().splitlines():
        if line.startswith("perdure_invocations_completed_total "):
            return float(line.split()[1])
    return 0.0


def drain_seconds(admin_url: str, target: float, timeout: float = 300) -> float:
    """Seconds until `target` invocations have completed in total."""
    started = time.perf_counter()
    while completed_total(admin_url) < target:
        if time.perf_counter() - started > timeout:
            return float("inf")
        time.sleep(0.05)
    return time.perf_counter() - started
