"""A node with several partition processes (one Raft group each): requests reach the process
of their group from any process, calls chain across groups, and kill -9 of each process in turn
under load loses nothing acknowledged, runs no journaled step twice beyond the in-flight rule,
and delivers every send exactly once."""

from __future__ import annotations

import asyncio
import json
import os
import signal
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from node.local import LocalNode, http, wait_until
from partition import ids
from partition.routing import Partitioning
from tests.e2e.conftest import Cluster, running_cluster

PROCESSES = 3
PARTITIONING = Partitioning(24, PROCESSES)
JSON = {"content-type": "application/json"}


@pytest.fixture
def node3(tmp_path: Path) -> Iterator[Cluster]:
    with running_cluster(
        tmp_path,
        "tests.e2e.services:app",
        {"E2E_DIR": str(tmp_path)},
        {"PERDURE_PARTITION_PROCESSES": str(PROCESSES)},
    ) as c:
        yield c


def keys_of(group: int, n: int, prefix: str) -> list[str]:
    found: list[str] = []
    i = 0
    while len(found) < n:
        key = f"{prefix}{i}"
        if PARTITIONING.group_of_key(ids.partition_key(key)) == group:
            found.append(key)
        i += 1
    return found


def processes(c: Cluster) -> dict[int, dict[str, Any]]:
    status, _, body = http("GET", c.node.admin_url + "/cluster", timeout=5)
    assert status == 200, body
    (node,) = json.loads(body)["nodes"]
    return {p["raft_group"]: p for p in node["processes"]}


def test_every_process_serves_every_key_and_reports_its_group(node3: Cluster) -> None:
    wait_until(lambda: all(p["alive"] for p in processes(node3).values()), 10, "3 processes")
    procs = processes(node3)
    assert sorted(procs) == [0, 1, 2]
    assert len({p["pid"] for p in procs.values()}) == 3
    for p in procs.values():  # cpu_scheduling "auto": every thread of every process is batch
        threads = os.listdir(f"/proc/{p['pid']}/task")
        assert {os.sched_getscheduler(int(t)) for t in threads} == {os.SCHED_BATCH}
    _, _, body = http("GET", node3.node.admin_url + "/cluster")
    doc = json.loads(body)
    assert [p["raft_group"] for p in doc["partitions"]] == [g for g in range(3) for _ in range(8)]
    for group in range(3):
        for key in keys_of(group, 3, "k"):
            for expected in (1, 2):  # many connections: requests arrive at every process
                s, _, out = http("POST", f"{node3.ingress}/Counter/{key}/add", b"1", JSON)
                assert (s, json.loads(out)) == (200, expected)
    s, _, out = http("POST", f"{node3.ingress}/Caller/gather_greets", b"6", JSON)
    assert (s, len(json.loads(out))) == (200, 6)


CHAINS = 12


async def test_chains_across_three_processes_survive_kill9_of_each_in_turn(
    node3: Cluster,
) -> None:
    paths = list(
        zip(
            keys_of(0, CHAINS, "a"),
            keys_of(1, CHAINS, "b"),
            keys_of(2, CHAINS, "c"),
            strict=True,
        )
    )
    sent: dict[int, str] = {}

    async def send(client: httpx.AsyncClient, i: int) -> None:
        a, b, c = paths[i]
        headers = {**JSON, "idempotency-key": f"chain-{i}"}
        for _ in range(600):  # bounded: ~60 s of retries
            try:
                r = await client.post(f"/Chain/{a}/hop/send", json=[b, c], headers=headers)
                if r.status_code == 202:
                    sent[i] = r.json()["invocationId"]
                    return
            except httpx.TransportError:
                pass
            await asyncio.sleep(0.1)
        raise AssertionError(f"chain {i} was never accepted")

    async def load() -> None:
        async with httpx.AsyncClient(base_url=node3.ingress, timeout=10) as client:
            for i in range(CHAINS):
                await send(client, i)
                await asyncio.sleep(0.15)

    task = asyncio.ensure_future(load())
    for group in (1, 2):  # the workers: killed alone, their node starts them again
        await asyncio.to_thread(wait_until, lambda: len(sent) >= CHAINS // 4, 30, "some chains")
        old = processes(node3)[group]["pid"]
        os.kill(old, signal.SIGKILL)

        def restarted(group: int = group, old: int = old) -> bool:
            p = processes(node3)[group]
            return bool(p["alive"] and p["pid"] != old)

        await asyncio.to_thread(wait_until, restarted, 30, f"group {group} to run again")
    await asyncio.to_thread(node3.node.kill9)  # the first process: takes the others along
    await asyncio.to_thread(node3.node.start)
    await asyncio.wait_for(task, 120)

    async with httpx.AsyncClient(base_url=node3.ingress, timeout=30) as client:
        for i, invocation_id in sorted(sent.items()):
            for _ in range(600):
                r = await client.get(f"/restate/invocation/{invocation_id}/output")
                if r.status_code != 470:
                    break
                await asyncio.sleep(0.1)
            assert (r.status_code, r.json()) == (200, list(paths[i])), i
        r = await client.get("/Tally/chains/total")
        assert r.json() == CHAINS  # one send per chain, each applied exactly once
    for path in paths:
        for key in path:
            runs = node3.lines(f"chain-{key}.lines")
            # Once, or twice when its process died while the step ran (the in-flight rule).
            assert 1 <= len(runs) <= 2, (key, runs)


def test_a_data_directory_refuses_another_process_count_in_one_line(tmp_path: Path) -> None:
    """The partitioning is fixed at creation: started with another count of partition
    processes, the node exits with status 2 and the message saying what to start it with (a
    setting refused, like a bad one), not a traceback."""
    node = LocalNode(tmp_path / "data")
    node.start()
    node.stop()
    again = LocalNode(tmp_path / "data", extra_env={"PERDURE_PARTITION_PROCESSES": "2"})
    again.launch()
    assert again.process is not None and again.process.proc is not None
    try:
        assert again.process.proc.wait(60) == 2
    finally:
        again.stop()
    out = again.process.output()
    assert "perdure-server: the data in" in out and "--partition-processes 1" in out, out
    assert "Traceback" not in out, out
