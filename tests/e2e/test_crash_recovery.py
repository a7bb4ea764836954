"""kill -9 the server or the deployment mid-invocation: nothing acknowledged is lost, and no
journaled step runs again."""

from __future__ import annotations

import asyncio
import json
from collections import Counter

import httpx

from node.local import http, wait_until
from tests.e2e.conftest import Cluster

JSON = {"content-type": "application/json"}


async def _send_writes(cluster: Cluster, n: int) -> dict[int, str]:
    """Send Writer.write(i) for i < n; return the acknowledged invocation ids."""
    acked: dict[int, str] = {}
    async with httpx.AsyncClient(base_url=cluster.ingress, timeout=30) as client:

        async def send(i: int) -> None:
            r = await client.post("/Writer/write/send", content=str(i).encode(), headers=JSON)
            if r.status_code == 202:
                acked[i] = r.json()["invocationId"]

        await asyncio.gather(*(send(i) for i in range(n)))
    return acked


def _output(cluster: Cluster, invocation_id: str) -> tuple[int, bytes]:
    status, _, body = http("GET", f"{cluster.ingress}/restate/invocation/{invocation_id}/output")
    return status, body


async def test_kill9_server_mid_flight_loses_nothing_acknowledged(cluster: Cluster) -> None:
    acked = await _send_writes(cluster, 50)
    assert len(acked) == 50
    # Kill while invocations are running: wait until some, but not all, steps have happened.
    wait_until(lambda: len(cluster.lines("writer.lines")) >= 20, 30, "some steps to run")
    cluster.node.kill9()
    cluster.node.start()

    def all_done() -> bool:
        return all(_output(cluster, inv)[0] == 200 for inv in acked.values())

    wait_until(all_done, 60, "every acknowledged invocation to complete after the restart")
    for i, inv in acked.items():
        status, body = _output(cluster, inv)
        assert (status, json.loads(body)) == (200, i * 100 + 6)
    counts = Counter(cluster.lines("writer.lines"))
    assert set(counts) == {f"{i}:{s}" for i in acked for s in range(3)}
    repeated = [line for line, c in counts.items() if c > 1]
    assert all(c <= 2 for c in counts.values()), counts
    # A step may run twice only if it was running at the kill: at most one per invocation.
    per_invocation = Counter(line.split(":")[0] for line in repeated)
    assert all(c == 1 for c in per_invocation.values()), repeated


def test_kill9_deployment_mid_invocation_resumes_by_replay(cluster: Cluster) -> None:
    status, _, body = http("POST", cluster.ingress + "/Slow/steps3/send", b'"job"', JSON)
    assert status == 202
    invocation_id = json.loads(body)["invocationId"]
    # Step 0 is journaled, step 1 is blocked on its gate: kill the deployment now.
    wait_until(lambda: cluster.lines("job.steps") == ["0", "1"], 20, "step 1 to start")
    cluster.deployment.kill9()
    (cluster.dir / "job.go1").touch()
    cluster.deployment.start()
    wait_until(lambda: _output(cluster, invocation_id)[0] == 200, 30, "the invocation to resume")
    assert json.loads(_output(cluster, invocation_id)[1]) == "012"
    # Step 0 was journaled before the kill and never ran again; step 1 ran again once.
    assert cluster.lines("job.steps") == ["0", "1", "1", "2"]
