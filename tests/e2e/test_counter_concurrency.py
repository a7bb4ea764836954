"""Exclusive handlers of one Virtual Object key run one at a time, in a FIFO inbox."""

from __future__ import annotations

import asyncio

import httpx

from tests.e2e.conftest import Cluster


async def test_200_concurrent_adds_on_one_key_return_distinct_values(cluster: Cluster) -> None:
    limits = httpx.Limits(max_connections=200, max_keepalive_connections=200)
    async with httpx.AsyncClient(base_url=cluster.ingress, limits=limits, timeout=60) as client:

        async def add() -> int:
            r = await client.post(
                "/Counter/hot/add", content=b"1", headers={"content-type": "application/json"}
            )
            assert r.status_code == 200, r.text
            value: int = r.json()
            return value

        values = await asyncio.gather(*(add() for _ in range(200)))
        assert sorted(values) == list(range(1, 201))
        r = await client.get("/Counter/hot/get")
        assert r.json() == 200
