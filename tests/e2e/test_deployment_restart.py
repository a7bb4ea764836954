"""kill -9 the deployment under load, keep it down for seconds, restart it: the invocations
that were waiting on it resume as soon as it accepts connections, not on the retry backoff."""

from __future__ import annotations

import asyncio
import socket
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from node.local import wait_until
from tests.e2e.conftest import Cluster, running_cluster
from tests.e2e.restart_services import RELEASE

BLOCKED = 6  # invocations running a step when the deployment dies
DELAYED = 4  # invocations sent with a delay that ends while it is down
DOWN_S = 3.0  # long enough for the invocation retry backoff to reach seconds
RESUME_BOUND_S = 0.5


@pytest.fixture
def cluster(tmp_path: Path) -> Iterator[Cluster]:
    with running_cluster(
        tmp_path, "tests.e2e.restart_services:app", {"E2E_DIR": str(tmp_path)}
    ) as c:
        yield c


def _accepts(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.05):
            return True
    except OSError:
        return False


async def test_waiting_invocations_resume_quickly_after_a_deployment_restart(
    cluster: Cluster,
) -> None:
    done: list[float] = []

    async def finished(response: httpx.Response, name: str) -> None:
        assert (response.status_code, response.json()) == (200, name)
        done.append(time.monotonic())

    async def call(client: httpx.AsyncClient, name: str) -> None:
        await finished(await client.post("/Waiting/on_gate", json=name), name)

    async def attach(client: httpx.AsyncClient, invocation_id: str, name: str) -> None:
        await finished(await client.get(f"/restate/invocation/{invocation_id}/attach"), name)

    async with httpx.AsyncClient(base_url=cluster.ingress, timeout=60) as client:
        waits = [asyncio.ensure_future(call(client, f"b{i}")) for i in range(BLOCKED)]
        for i in range(DELAYED):
            r = await client.post("/Waiting/echo/send?delay=1s", json=f"d{i}")
            assert r.status_code == 202, r.text
            waits.append(asyncio.ensure_future(attach(client, r.json()["invocationId"], f"d{i}")))
        await asyncio.to_thread(
            wait_until,
            lambda: all(cluster.lines(f"b{i}.lines") for i in range(BLOCKED)),
            30,
            "every blocked invocation to start its step",
        )
        deployment = cluster.deployment.process
        assert deployment is not None
        await asyncio.to_thread(deployment.kill9)
        killed = time.monotonic()
        (cluster.dir / RELEASE).touch()
        await asyncio.sleep(DOWN_S)  # the outage itself, not a wait for a condition
        assert not done, "an invocation completed while its deployment was down"
        deployment.start()
        while not _accepts(cluster.deployment.port):
            deployment.require_alive()
            if time.monotonic() - killed > DOWN_S + 30:
                raise TimeoutError("the restarted deployment never accepted connections")
            await asyncio.sleep(0.002)
        accepting = time.monotonic()
        await asyncio.wait_for(asyncio.gather(*waits), 60)

    after_ms = sorted(round((t - accepting) * 1000) for t in done)
    figure = (
        f"deployment down {accepting - killed:.2f} s; the first invocation completed "
        f"{after_ms[0]} ms after it accepted connections (all {len(done)}, in ms: {after_ms})"
    )
    print(f"\n{figure}")
    assert after_ms[0] < RESUME_BOUND_S * 1000, figure
    assert after_ms[-1] < 2 * RESUME_BOUND_S * 1000, figure
