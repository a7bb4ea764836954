"""Workloads wrk cannot express: multi-request flows driven by an asyncio client
(closed loop, fixed concurrency), and the drain time of one-way sends."""

from __future__ import annotations

import asyncio
import time
import uuid

import httpx

from bench.wrk import Result
from node.local import http

JSON = {"content-type": "application/json"}


async def _workflow_once(client: httpx.AsyncClient) -> None:
    key = uuid.uuid4().hex
    r = await client.post(f"/Payment/{key}/run/send", content=b"100", headers=JSON)
    r.raise_for_status()
    r = await client.post(f"/Payment/{key}/approve", content=b'"ok"', headers=JSON)
    r.raise_for_status()
    r = await client.get(f"/restate/workflow/Payment/{key}/attach")
    r.raise_for_status()


async def _closed_loop(url: str, concurrency: int, seconds: float) -> Result:
    latencies: list[float] = []
    errors = 0
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(base_url=url, limits=limits, timeout=60) as client:
        deadline = time.perf_counter() + seconds

        async def worker() -> None:
            nonlocal errors
            while time.perf_counter() < deadline:
                t0 = time.perf_counter()
                try:
                    await _workflow_once(client)
                except httpx.HTTPError:
                    errors += 1
                    continue
                latencies.append(time.perf_counter() - t0)

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
