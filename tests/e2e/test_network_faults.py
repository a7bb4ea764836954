"""Three real nodes, each in a network namespace of its own (tests/e2e/netns.py), under a
steady load of idempotent increments: cut a follower off, then the leader; drop 20 % of the
packets between nodes; restart every node at once. Nothing acknowledged is lost, the majority
keeps serving, an isolated leader stops acknowledging, and cut-off members catch up once the
network heals. Skipped (with the reason) where network namespaces cannot be made."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from node.local import LocalCluster, LocalDeployment, LocalNode, http, wait_until
from tests.e2e.netns import Network

KEYS = 4
ROUND_S = 0.02  # pause between one client's increments


@pytest.fixture
def netcluster(tmp_path: Path) -> Iterator[tuple[LocalCluster, Network]]:
    with Network(3) as net:
        deployment = LocalDeployment(
            tmp_path / "deployment.log",
            app="tests.e2e.services:app",
            extra_env={"E2E_DIR": str(tmp_path)},
            host=net.root_host,
        )
        cluster = LocalCluster(
            tmp_path / "cluster",
            3,
            hosts=[net.host(i) for i in range(3)],
            netns=[net.ns(i) for i in range(3)],
        )
        try:
            deployment.start()
            cluster.start()
            cluster.register(deployment.uri)
            yield cluster, net
        finally:
            cluster.stop()
            deployment.stop()


class Load:
    """KEYS clients, each adding 1 to its own counter with a fresh idempotency key per
    increment and retrying it (same key) until acknowledged, over the nodes in `targets`."""

    def __init__(self, nodes: list[LocalNode]) -> None:
        self.targets = list(nodes)
        self.acked: dict[str, list[int]] = {f"k{k}": [] for k in range(KEYS)}
        self.stopping = False
        self._clients = {n.ingress_url: httpx.AsyncClient(timeout=3) for n in nodes}

    @property
    def total(self) -> int:
        return sum(len(v) for v in self.acked.values())

    async def _add(self, key: str, i: int) -> int:
        headers = {"content-type": "application/json", "idempotency-key": f"{key}-{i}"}
        for attempt in range(3000):  # bounded: a few minutes of retries at most
            node = self.targets[attempt % len(self.targets)]
            try:
                r = await self._clients[node.ingress_url].post(
                    f"{node.ingress_url}/Counter/{key}/add", content=b"1", headers=headers
                )
                if r.status_code == 200:
                    return int(r.json())
                assert r.status_code in (502, 503, 504), (r.status_code, r.text)
            except httpx.TransportError:
                pass
            await asyncio.sleep(0.05)
        raise AssertionError(f"{key}-{i} was never acknowledged")

    async def _client(self, key: str) -> None:
        for i in range(100_000):  # bounded by `stopping` and the test's time limit
            if self.stopping:
                return
            self.acked[key].append(await self._add(key, i))
            await asyncio.sleep(ROUND_S)

    async def run(self) -> None:
        try:
            await asyncio.gather(*(self._client(key) for key in self.acked))
        finally:
            for client in self._clients.values():
                await client.aclose()

    async def grows(self, by: int, within_s: float, what: str) -> None:
        start, deadline = self.total, time.monotonic() + within_s
        while self.total < start + by:
            if time.monotonic() > deadline:
                raise AssertionError(
                    f"{what}: {self.total - start} acknowledgements in {within_s} s"
                )
            await asyncio.sleep(0.05)


def view(cluster: LocalCluster, via: int) -> dict[str, object]:
    return cluster.status(via)["partitions"][0]  # type: ignore[no-any-return]


def leader_index(cluster: LocalCluster, via: int) -> int | None:
    name = view(cluster, via)["leader"]
    return None if name is None else int(str(name)[1:]) - 1


def applied(cluster: LocalCluster, node: int) -> int:
    """What `node` has applied, as it reports itself."""
    name = f"n{node + 1}"
    replicas = view(cluster, node)["replicas"]
    return next(int(r["applied"] or 0) for r in replicas if r["node"] == name)  # type: ignore[attr-defined]


def reaches(cluster: LocalCluster, node: int, others: list[int]) -> object:
    """A condition: `node` applied what the others had applied when it was asked for (under
    load positions keep moving, so "all equal" is a condition for quiet times only)."""
    target = max(applied(cluster, i) for i in others)
    return lambda: applied(cluster, node) >= target


def caught_up(cluster: LocalCluster, via: int = 0) -> bool:
    replicas = view(cluster, via)["replicas"]
    positions = {r["node"]: r["applied"] for r in replicas}  # type: ignore[attr-defined]
    return len(positions) == 3 and len(set(positions.values())) == 1


def count(node: LocalNode, key: str) -> int:
    """Counter `key` read through `node`, retrying a 503 (a leader change in progress)."""
    for _ in range(200):
        status, _, body = http("GET", node.ingress_url + f"/Counter/{key}/get", timeout=10)
        if status == 200:
            return int(body)
        assert status == 503, (status, body)
        print("503 while reading", key, body[:300])
        time.sleep(0.1)
    raise AssertionError(f"Counter/{key}/get never answered")


async def wait_for(predicate: object, timeout: float, what: str) -> None:
    await asyncio.to_thread(wait_until, predicate, timeout, what)


async def test_cuts_and_packet_loss_lose_nothing_and_the_majority_keeps_serving(
    netcluster: tuple[LocalCluster, Network],
) -> None:
    cluster, net = netcluster
    load = Load(cluster.nodes)
    running = asyncio.ensure_future(load.run())
    try:
        await load.grows(20, 20, "before any fault")

        # 1. A follower cut off: the other two keep serving; it catches up once healed.
        leader = leader_index(cluster, 0)
        assert leader is not None
        follower = (leader + 1) % 3
        load.targets = [n for i, n in enumerate(cluster.nodes) if i != follower]
        net.cut(follower)
        await load.grows(40, 15, "with a follower cut off")
        net.heal()
        load.targets = list(cluster.nodes)
        others = [i for i in range(3) if i != follower]
        await wait_for(reaches(cluster, follower, others), 30, "the follower to catch up")

        # 2. The leader cut off: the majority elects another and serves; the isolated leader
        # acknowledges nothing new.
        leader = leader_index(cluster, follower)
        assert leader is not None
        majority = [i for i in range(3) if i != leader]
        load.targets = [cluster.nodes[i] for i in majority]
        net.cut(leader)
        cut_at = time.monotonic()
        await load.grows(20, 15, "after cutting the leader off")
        print(f"the majority acknowledged again {time.monotonic() - cut_at:.2f} s after the cut")
        new = leader_index(cluster, majority[0])
        assert new in majority
        isolated = cluster.nodes[leader]
        status, _, _ = await asyncio.to_thread(
            http,
            "POST",
            isolated.ingress_url + "/Counter/isolated/add",
            b"1",
            {"content-type": "application/json"},
            10,
        )
        assert status != 200  # it cannot commit anything alone
        net.heal()
        load.targets = list(cluster.nodes)
        await wait_for(reaches(cluster, leader, majority), 30, "the old leader to catch up")

        # 3. 20 % of the packets between nodes dropped for 10 s.
        net.lossy(0.2)
        await asyncio.sleep(10)
        net.heal()
        await load.grows(20, 20, "after the lossy network healed")
    finally:
        load.stopping = True
        await asyncio.wait_for(running, 120)

    # Nothing acknowledged was lost, nothing ran twice (an add retried under the same key
    # counts once).
    for key, values in load.acked.items():
        assert sorted(values) == list(range(1, len(values) + 1)), key
        assert count(cluster.nodes[0], key) == len(values), key
    await wait_for(lambda: caught_up(cluster), 30, "every replica to apply the same records")

    # 4. Every node restarted at once: everything acknowledged is still there.
    for node in cluster.nodes:
        node.kill9()
    await asyncio.to_thread(cluster.start)
    for key, values in load.acked.items():
        assert count(cluster.nodes[2], key) == len(values), key
    await wait_for(lambda: caught_up(cluster, 1), 30, "every replica to apply the same records")
    await asyncio.to_thread(cluster.wait_quiet)
    for node in cluster.nodes:  # all at once, once quiet: every replica at the same position
        node.kill9()
    cluster.check_replicas_agree()
