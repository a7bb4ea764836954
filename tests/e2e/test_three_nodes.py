"""Three real nodes on this machine (127.0.0.1-3), one Raft group replicated on all of them,
and a real deployment: any node serves, and kill -9 of the leader under load loses nothing
acknowledged, runs no journaled step twice beyond the in-flight rule, and is served again
within a second."""

from __future__ import annotations

import asyncio
import json
import shutil
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest

from node.local import LocalCluster, LocalDeployment, http, wait_until

KEYS = 4
ADDS = 30
WRITES = 12


@contextmanager
def running_three(
    tmp_path: Path, node_env: dict[str, str] | None = None, register_via: int = 1
) -> Iterator[LocalCluster]:
    """Three nodes and a deployment of tests.e2e.services, registered through node
    `register_via` (which may not lead); every process stopped on exit."""
    deployment = LocalDeployment(
        tmp_path / "deployment.log",
        app="tests.e2e.services:app",
        extra_env={"E2E_DIR": str(tmp_path)},
    )
    cluster = LocalCluster(tmp_path / "cluster", 3, extra_env=node_env or {})
    try:
        deployment.start()
        cluster.start()
        cluster.register(deployment.uri, via=register_via)
        yield cluster
    finally:
        cluster.stop()
        deployment.stop()


@pytest.fixture
def three(tmp_path: Path) -> Iterator[tuple[LocalCluster, Path]]:
    with running_three(tmp_path) as cluster:
        yield cluster, tmp_path


def leader_of(cluster: LocalCluster, via: int = 0) -> tuple[int, int]:
    """(index, pid) of the node leading partition 0, as node `via` sees it."""

    def known() -> bool:
        status = cluster.status(via)
        name = status["partitions"][0]["leader"]
        return any(n["name"] == name and n["pid"] is not None for n in status["nodes"])

    wait_until(known, 10, "a leader")
    status = cluster.status(via)
    name = status["partitions"][0]["leader"]
    node = next(n for n in status["nodes"] if n["name"] == name)
    return int(name[1:]) - 1, int(node["pid"])


def post(url: str, body: bytes, headers: dict[str, str] | None = None) -> tuple[int, Any]:
    status, _, out = http(
        "POST", url, body, {"content-type": "application/json", **(headers or {})}, timeout=10
    )
    return status, out


def test_every_node_serves_and_reports_the_same_cluster(
    three: tuple[LocalCluster, Path],
) -> None:
    cluster, _ = three
    for i, node in enumerate(cluster.nodes):
        status, body = post(node.ingress_url + "/Greeter/greet", b'"n%d"' % (i + 1))
        assert status == 200 and body == b'"Hello, n%d!"' % (i + 1)
        status, body = post(node.ingress_url + "/Counter/shared/add", b"2")
        assert status == 200 and int(body) == 2 * (i + 1)
    leaders = set()
    for via in range(3):
        view = cluster.status(via)
        assert [n["name"] for n in view["nodes"]] == ["n1", "n2", "n3"]

        def all_seen(via: int = via) -> bool:
            view = cluster.status(via)
            modes = sorted(r["mode"] for r in view["partitions"][0]["replicas"])
            return (
                all(n["alive"] for n in view["nodes"])
                and all(len(p["replicas"]) == 3 for p in view["partitions"])
                and modes == ["follower", "follower", "leader"]
            )

        wait_until(all_seen, 10, f"node {via + 1} to see every node and replica")
        view = cluster.status(via)
        assert {n["pid"] for n in view["nodes"]} == {
            n.process.pid for n in cluster.nodes if n.process
        }
        assert len(view["partitions"]) == 24
        leaders |= {p["leader"] for p in view["partitions"]}
    assert len(leaders) == 1 and None not in leaders  # one group: one leader, seen by all


def test_an_invocation_sent_through_one_node_is_killed_through_another_and_read_on_a_third(
    three: tuple[LocalCluster, Path],
) -> None:
    cluster, _ = three
    first, second, third = cluster.nodes
    status, body = post(first.ingress_url + "/Sleepy/forever/send", b'"k1"')
    assert status == 202, body
    invocation_id = json.loads(body)["invocationId"]

    def output() -> tuple[int, bytes]:
        status, _, body = http(
            "GET", f"{third.ingress_url}/restate/invocation/{invocation_id}/output", timeout=5
        )
        return status, body

    wait_until(lambda: output()[0] == 470, 10, "it to run (not ready)")
    status, _, body = http("PATCH", f"{second.admin_url}/invocations/{invocation_id}/kill")
    assert status == 200, body
    wait_until(lambda: output()[0] != 470, 10, "it to end")
    status, body = output()
    assert status == 409 and json.loads(body)["message"] == "killed"


async def test_kill9_of_the_leader_under_load_loses_nothing_and_fails_over_within_a_second(
    three: tuple[LocalCluster, Path],
) -> None:
    cluster, directory = three
    leader, _ = leader_of(cluster)
    survivors = [n for i, n in enumerate(cluster.nodes) if i != leader]
    acked: dict[str, list[int]] = {f"k{k}": [] for k in range(KEYS)}
    written: dict[int, int] = {}
    killed_at: list[float] = []
    first_ack_after_kill: list[float] = []
    # One client per node, made once: a client per attempt costs the test process milliseconds
    # of CPU each (an SSL context), which a burst of retries turns into seconds of delay.
    clients = {
        n.ingress_url: httpx.AsyncClient(base_url=n.ingress_url, timeout=5) for n in cluster.nodes
    }

    async def retrying(path: str, body: bytes, idem: str) -> Any:
        headers = {"content-type": "application/json", "idempotency-key": idem}
        for attempt in range(600):  # bounded: ~60 s of retries at most
            # Spread over every node; once the leader is dead, over the survivors.
            nodes = survivors if killed_at else cluster.nodes
            url = nodes[attempt % len(nodes)].ingress_url
            sent = time.monotonic()
            try:
                r = await clients[url].post(path, content=body, headers=headers)
                if r.status_code == 200:
                    if killed_at and sent > killed_at[0] and not first_ack_after_kill:
                        # The first request sent after the kill that was acknowledged.
                        first_ack_after_kill.append(time.monotonic() - killed_at[0])
                    return r.json()
                assert r.status_code in (502, 503, 504), (r.status_code, r.text)
            except httpx.TransportError:
                pass
            await asyncio.sleep(0.05)
        raise AssertionError(f"{path} {idem} was never acknowledged")

    async def add(key: str, i: int) -> None:
        acked[key].append(await retrying(f"/Counter/{key}/add", b"1", f"{key}-{i}"))

    async def write(n: int) -> None:
        written[n] = await retrying("/Writer/write", str(n).encode(), f"w{n}")

    try:
        task = asyncio.gather(
            *(add(f"k{k}", i) for k in range(KEYS) for i in range(ADDS)),
            *(write(n) for n in range(WRITES)),
        )
        await asyncio.to_thread(
            wait_until,
            lambda: sum(len(v) for v in acked.values()) >= KEYS * ADDS // 3,
            30,
            "a third of the increments",
        )

        def kill() -> None:  # timed at the signal, not when a thread got to send it
            killed_at.append(time.monotonic())
            cluster.nodes[leader].kill9()

        await asyncio.to_thread(kill)
        await retrying("/Counter/probe/add", b"1", "probe")  # sent after the kill, surely
        await asyncio.wait_for(task, 120)
    finally:
        for client in clients.values():
            await client.aclose()

    print(f"first acknowledgement {first_ack_after_kill[0]:.3f} s after kill -9 of the leader")
    assert first_ack_after_kill[0] < 1.0
    for key, values in acked.items():
        assert sorted(values) == list(range(1, ADDS + 1)), (key, sorted(values))
        status, _, body = http("GET", survivors[0].ingress_url + f"/Counter/{key}/get")
        assert status == 200 and int(body) == ADDS
    assert written == {n: n * 100 + 6 for n in range(WRITES)}
    lines = (directory / "writer.lines").read_text().splitlines()
    for n in range(WRITES):
        for step in range(3):
            # A step runs once, or twice when the kill caught it between running and
            # journaling its result (the in-flight rule): never more.
            assert 1 <= lines.count(f"{n}:{step}") <= 2, (n, step, lines.count(f"{n}:{step}"))

    # The old leader comes back and catches up with what was committed without it.
    cluster.nodes[leader].start()

    def caught_up() -> bool:
        view = cluster.status(leader)["partitions"][0]
        positions = {r["node"]: r["applied"] for r in view["replicas"]}
        return len(positions) == 3 and len(set(positions.values())) == 1

    wait_until(caught_up, 20, "the restarted node to catch up")
    # Replicas at the same applied position hold byte-identical partition state (killed all
    # at once, once quiet, so that no record lands on some and not on others).
    cluster.wait_quiet()
    for node in cluster.nodes:
        node.kill9()
    cluster.check_replicas_agree()


def add_ones(cluster: LocalCluster, key: str, numbers: range, nodes: int) -> None:
    """`POST /Counter/{key}/add 1` for each n of `numbers`, round robin over the first `nodes`
    nodes: each answer must be n + 1 (every earlier add counted once)."""
    for n in numbers:
        status, body = post(cluster.nodes[n % nodes].ingress_url + f"/Counter/{key}/add", b"1")
        assert status == 200 and int(body) == n + 1, (n, status, body)


def post_retrying(url: str, body: bytes, idem: str) -> tuple[int, Any, int]:
    """POST with an idempotency key, retrying 503s (a directory a poll behind a leadership
    change answers 503 before journaling): (status, body, 503s seen)."""
    refused = 0
    for _ in range(50):
        status, out = post(url, body, {"idempotency-key": idem})
        if status != 503:
            return status, out, refused
        refused += 1
        time.sleep(0.05)
    return status, out, refused


def group_leaders(cluster: LocalCluster, via: int) -> dict[int, str | None]:
    return {p["raft_group"]: p["leader"] for p in cluster.status(via)["partitions"]}


def test_leaders_spread_a_planned_stop_hands_over_and_the_preferred_node_takes_back(
    tmp_path: Path,
) -> None:
    """Three groups per node: group g is led by node g+1; stopping a node (SIGTERM) hands its
    leadership over before it exits, calls across groups keep working through any node, and
    the node's group returns to it once it is back."""
    with running_three(tmp_path, {"PERDURE_PARTITION_PROCESSES": "3"}, 2) as cluster:
        spread = {0: "n1", 1: "n2", 2: "n3"}
        wait_until(lambda: group_leaders(cluster, 0) == spread, 20, "leaders spread")
        for i, node in enumerate(cluster.nodes):  # a fan-out from every node: sends to
            status, body = post(node.ingress_url + "/Caller/gather_greets", b"5")
            assert status == 200 and json.loads(body) == [f"Hello, {j}!" for j in range(5)]
            for key in ("a", "b", "c", "d", "e", "f"):  # keys in every group, through any node
                status, body = post(node.ingress_url + f"/Counter/{key}/add", b"1")
                assert status == 200 and int(body) == i + 1

        stopped_at = time.monotonic()
        cluster.nodes[1].stop()  # SIGTERM: hands group 1 over, then exits
        handed = time.monotonic() - stopped_at
        refused = 0
        for key in ("a", "b", "c", "d", "e", "f"):
            url = cluster.nodes[0].ingress_url + f"/Counter/{key}/add"
            status, body, seen = post_retrying(url, b"1", f"after-stop-{key}")
            refused += seen
            assert status == 200 and int(body) == 4, (key, status, body)
        print(f"stop with hand-over took {handed:.2f} s; {refused} 503s after it")
        assert refused <= 3
        assert group_leaders(cluster, 0)[1] in ("n1", "n3")

        cluster.nodes[1].start()
        wait_until(lambda: group_leaders(cluster, 0) == spread, 30, "n2 to lead group 1 again")
        for key in ("a", "b", "c", "d", "e", "f"):
            url = cluster.nodes[1].ingress_url + f"/Counter/{key}/add"
            status, body, _ = post_retrying(url, b"1", f"after-return-{key}")
            assert status == 200 and int(body) == 5, (key, status, body)


def test_a_node_down_while_the_others_trim_their_logs_catches_up_from_them(
    tmp_path: Path,
) -> None:
    """Trims every 20 records: the others keep what the stopped node lacks (SafeTrim), so it
    catches up from their logs when it returns, and the log is trimmed once it has."""
    with running_three(tmp_path, {"PERDURE_TRIM_EVERY_RECORDS": "20"}, 0) as cluster:
        wait_until(lambda: leader_of(cluster)[0] == 0, 20, "n1 to lead (its preferred node)")
        cluster.nodes[2].stop()
        add_ones(cluster, "trim", range(150), 2)
        cluster.nodes[2].start()

        def caught_up() -> bool:
            view = cluster.status(2)["partitions"][0]
            positions = {r["node"]: r["applied"] for r in view["replicas"]}
            return len(positions) == 3 and len(set(positions.values())) == 1

        wait_until(caught_up, 30, "n3 to catch up from the others' logs")
        status, body = post(cluster.nodes[2].ingress_url + "/Counter/trim/add", b"1")
        assert status == 200 and int(body) == 151
        log_text = (tmp_path / "cluster" / "n3.log").read_text()
        assert "SnapshotNeeded" not in log_text and "snapshot" not in log_text.lower()


def test_a_wiped_node_catches_up_by_snapshot_and_holds_the_same_state(tmp_path: Path) -> None:
    """Trims every 20 records: a node whose data directory is lost comes back with an empty log
    that the others compacted long ago. It installs a snapshot of the leader's store (a RocksDB
    checkpoint) and the log after it, serves again, and ends byte-identical to the others."""
    with running_three(tmp_path, {"PERDURE_TRIM_EVERY_RECORDS": "20"}, 0) as cluster:
        wait_until(lambda: leader_of(cluster)[0] == 0, 20, "n1 to lead (its preferred node)")
        add_ones(cluster, "snap", range(60), 3)
        cluster.wait_quiet()
        cluster.nodes[2].stop()
        shutil.rmtree(cluster.nodes[2].data_dir)
        add_ones(cluster, "snap", range(60, 120), 2)
        cluster.nodes[2].start()
        status, body = post(cluster.nodes[2].ingress_url + "/Counter/snap/add", b"1")
        assert status == 200 and int(body) == 121
        status, body = post(cluster.nodes[2].ingress_url + "/Counter/snap/get", b"")
        assert status == 200 and int(body) == 121
        cluster.wait_quiet()
        log_text = (tmp_path / "cluster" / "n3.log").read_text()
        assert "group 0 needs a snapshot" in log_text and "installed a snapshot from n1" in log_text
        assert not (cluster.nodes[2].data_dir / "store.incoming").exists()
    digests = cluster.store_digests()
    assert len({d for _, d in digests.values()}) == 1, digests


def test_a_node_down_while_the_others_trim_past_it_catches_up_by_snapshot(
    tmp_path: Path,
) -> None:
    """The others keep only 30 entries for a lagging member: a node down for 150 requests finds
    its log behind their compaction point, installs a snapshot over its old store and journal,
    and serves what the others acknowledged meanwhile."""
    env = {"PERDURE_TRIM_EVERY_RECORDS": "20", "PERDURE_TRIM_RETAIN_ENTRIES": "30"}
    with running_three(tmp_path, env, 0) as cluster:
        wait_until(lambda: leader_of(cluster)[0] == 0, 20, "n1 to lead (its preferred node)")
        add_ones(cluster, "lag", range(30), 3)
        cluster.nodes[2].stop()
        add_ones(cluster, "lag", range(30, 180), 2)
        cluster.nodes[2].start()
        status, body = post(cluster.nodes[2].ingress_url + "/Counter/lag/get", b"")
        assert status == 200 and int(body) == 180
        cluster.wait_quiet()
        log_text = (tmp_path / "cluster" / "n3.log").read_text()
        assert "installed a snapshot from n1" in log_text
    cluster.check_replicas_agree()
    assert len({d for _, d in cluster.store_digests().values()}) == 1
