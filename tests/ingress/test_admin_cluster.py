"""GET /cluster on the admin API over real HTTP, against a fake cluster view."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass

import httpx
import pytest

from ingress.api import ClusterStatus, ClusterView, NodeStatus, PartitionStatus, ReplicaStatus
from ingress.http import HttpServer, HttpServerOptions
from node.admin_api import AdminApi
from tests.ingress.fakes import FakeAdmin


def _node(name: str, port: int, pid: int | None, alive: bool = True) -> NodeStatus:
    return NodeStatus(
        name,
        f"10.0.0.{port % 10}:5123",
        pid,
        alive,
        f"http://10.0.0.{port % 10}:8080",
        f"http://10.0.0.{port % 10}:9070",
    )


def _partition(pid: int, group: int, leader: str | None, nodes: list[str]) -> PartitionStatus:
    replicas = tuple(
        ReplicaStatus(n, "leader" if n == leader else "follower", 100 + i, 110 + i)
        for i, n in enumerate(nodes)
    )
    return PartitionStatus(pid, group, leader, 7, 100, 110, replicas)


# Two nodes given out of order, partitions over two Raft groups, one node seen as dead (pid
# unknown): the next issue's cluster must fit the same shape.
STATUS = ClusterStatus(
    cluster_name="prod",
    partition_count=3,
    this_node="n1",
    nodes=(_node("n2", 2, None, alive=False), _node("n1", 1, 4242)),
    partitions=(
        _partition(1, 1, "n2", ["n2", "n1"]),
        _partition(0, 0, "n1", ["n1", "n2"]),
        _partition(2, 1, None, []),
    ),
)


@dataclass
class FakeCluster:
    status: ClusterStatus

    def cluster(self) -> ClusterStatus:
        return self.status


async def _client(cluster: ClusterView | None) -> tuple[HttpServer, httpx.AsyncClient]:
    server = HttpServer(AdminApi(FakeAdmin(), cluster=cluster), HttpServerOptions(name="admin"))
    port = await server.start()
    return server, httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}")


@pytest.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    server, client = await _client(FakeCluster(STATUS))
    async with client:
        yield client
    await server.close()


async def test_cluster_answers_nodes_by_name_and_partitions_by_id(
    client: httpx.AsyncClient,
) -> None:
    response = await client.get("/cluster")
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    assert response.json() == {
        "cluster_name": "prod",
        "partition_count": 3,
        "this_node": "n1",
        "nodes": [
            {
                "name": "n1",
                "address": "10.0.0.1:5123",
                "pid": 4242,
                "alive": True,
                "ingress": "http://10.0.0.1:8080",
                "admin": "http://10.0.0.1:9070",
                "processes": [],
            },
            {
                "name": "n2",
                "address": "10.0.0.2:5123",
                "pid": None,
                "alive": False,
                "ingress": "http://10.0.0.2:8080",
                "admin": "http://10.0.0.2:9070",
                "processes": [],
            },
        ],
        "partitions": [
            {
                "id": 0,
                "raft_group": 0,
                "leader": "n1",
                "term": 7,
                "applied": 100,
                "committed": 110,
                "replicas": [
                    {"node": "n1", "mode": "leader", "applied": 100, "committed": 110},
                    {"node": "n2", "mode": "follower", "applied": 101, "committed": 111},
                ],
            },
            {
                "id": 1,
                "raft_group": 1,
                "leader": "n2",
                "term": 7,
                "applied": 100,
                "committed": 110,
                "replicas": [
                    {"node": "n2", "mode": "leader", "applied": 100, "committed": 110},
                    {"node": "n1", "mode": "follower", "applied": 101, "committed": 111},
                ],
            },
            {
                "id": 2,
                "raft_group": 1,
                "leader": None,
                "term": 7,
                "applied": 100,
                "committed": 110,
                "replicas": [],
            },
        ],
    }


async def test_cluster_is_served_under_version_prefixes_and_only_for_get(
    client: httpx.AsyncClient,
) -> None:
    assert (await client.get("/v4/cluster")).json()["this_node"] == "n1"
    assert (await client.head("/cluster")).status_code == 200
    refused = await client.post("/cluster", json={})
    assert refused.status_code == 405
    assert refused.headers["allow"] == "GET"
    assert set(refused.json()) == {"message", "restate_code"}


async def test_cluster_without_a_view_is_not_implemented() -> None:
    server, client = await _client(None)
    async with client:
        response = await client.get("/cluster")
    await server.close()
    assert response.status_code == 501
    assert "cluster view" in response.json()["message"]
