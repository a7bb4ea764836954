"""kill -9 the server under load while clients retry with idempotency keys: every counter ends
equal to its acknowledged increments, and each increment ran exactly once."""

from __future__ import annotations

import asyncio

import httpx

from node.local import wait_until
from tests.e2e.conftest import Cluster

KEYS = 4
ADDS = 40


async def test_counters_equal_acknowledged_increments_across_a_kill9(cluster: Cluster) -> None:
    acked: dict[str, list[int]] = {f"k{k}": [] for k in range(KEYS)}

    async def add(client: httpx.AsyncClient, key: str, i: int) -> None:
        headers = {"content-type": "application/json", "idempotency-key": f"{key}-{i}"}
        for _ in range(600):  # bounded: ~60 s of retries at most
            try:
                r = await client.post(f"/Counter/{key}/add", content=b"1", headers=headers)
                if r.status_code == 200:
                    acked[key].append(r.json())
                    return
            except httpx.TransportError:
                pass
            await asyncio.sleep(0.1)
        raise AssertionError(f"add {key}-{i} was never acknowledged")

    async def load() -> None:
        async with httpx.AsyncClient(base_url=cluster.ingress, timeout=10) as client:
            await asyncio.gather(
                *(add(client, f"k{k}", i) for k in range(KEYS) for i in range(ADDS))
            )

    task = asyncio.ensure_future(load())
    await asyncio.to_thread(
        wait_until,
        lambda: sum(len(v) for v in acked.values()) >= KEYS * ADDS // 3,
        30,
        "a third of the increments",
    )
    await asyncio.to_thread(cluster.node.kill9)
    await asyncio.to_thread(cluster.node.start)
    await asyncio.wait_for(task, 90)
    async with httpx.AsyncClient(base_url=cluster.ingress, timeout=10) as client:
        for key, values in acked.items():
            assert sorted(values) == list(range(1, ADDS + 1)), (key, sorted(values))
            r = await client.get(f"/Counter/{key}/get")
            assert r.json() == ADDS
