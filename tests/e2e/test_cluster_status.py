"""GET /cluster and `perdure cluster ...` against a real node process."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from node.local import ROOT, free_port, http
from tests.e2e.conftest import Cluster
from tests.e2e.helpers import call

NODE_NAME = "perdure-1"  # the node's default name


def cluster_json(c: Cluster) -> Any:
    status, headers, body = http("GET", c.node.admin_url + "/cluster")
    assert status == 200, body
    assert headers["content-type"] == "application/json"
    return json.loads(body)


def positions(doc: Any) -> tuple[int, int]:
    partition = doc["partitions"][0]
    applied, committed = partition["applied"], partition["committed"]
    assert isinstance(applied, int) and isinstance(committed, int), partition
    assert committed >= applied  # a replica applies only what is committed
    return applied, committed


def append_items(c: Cluster, n: int) -> None:
    for i in range(n):
        assert call(c, "/Lists/cluster/append", f"item-{i}")[-1] == f"item-{i}"


def perdure(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """The `perdure` command as a user runs it: the installed script, else `python -m cli`."""
    script = Path(sys.executable).parent / "perdure"
    command = [str(script)] if script.exists() else [sys.executable, "-m", "cli"]
    return subprocess.run(
        [*command, *args],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=ROOT,
        env={**os.environ, **(env or {})},
    )


def test_cluster_reports_the_node_process_and_its_partition_positions(cluster: Cluster) -> None:
    node = cluster.node
    before = cluster_json(cluster)
    assert before["this_node"] == NODE_NAME
    assert before["partition_count"] == 24
    pid = node.process.pid if node.process else None
    assert before["nodes"] == [
        {
            "name": NODE_NAME,
            "address": f"127.0.0.1:{node.raft_port}",
            "pid": pid,
            "alive": True,
            "ingress": node.ingress_url,
            "admin": node.admin_url,
            "processes": [
                {
                    "raft_group": 0,
                    "pid": pid,
                    "alive": True,
                    "address": f"127.0.0.1:{node.raft_port}",
                }
            ],
        }
    ]
    # 24 logical partitions, all run by this one process's Raft group.
    assert [p["id"] for p in before["partitions"]] == list(range(24))
    assert {p["raft_group"] for p in before["partitions"]} == {0}
    partition = before["partitions"][0]
    assert (partition["id"], partition["raft_group"], partition["leader"]) == (0, 0, NODE_NAME)
    assert partition["term"] >= 1
    assert partition["replicas"] == [
        {
            "node": NODE_NAME,
            "mode": "leader",
            "applied": partition["applied"],
            "committed": partition["committed"],
        }
    ]

    append_items(cluster, 3)
    after_few = positions(cluster_json(cluster))
    # Each call answers once its records are applied: both positions moved past `before`.
    assert after_few[0] > positions(before)[0] and after_few[1] > positions(before)[1]
    append_items(cluster, 3)
    later = cluster_json(cluster)
    after_more = positions(later)
    assert after_more[0] > after_few[0] and after_more[1] > after_few[1]
    assert later["partitions"][0]["term"] == partition["term"]  # no election on one node


def test_perdure_cluster_commands_print_the_node_and_partition_rows(cluster: Cluster) -> None:
    node = cluster.node
    pid = str(node.process.pid if node.process else None)
    append_items(cluster, 2)
    applied, _ = positions(cluster_json(cluster))

    status = perdure("cluster", "status", "--admin-url", node.admin_url)
    assert (status.returncode, status.stderr) == (0, "")
    lines = status.stdout.splitlines()
    assert lines[0] == f"Cluster (unnamed): 1 node, 24 partitions (as seen by {NODE_NAME})"
    node_rows = [line.split() for line in lines if line.startswith(NODE_NAME)]
    assert node_rows == [
        [NODE_NAME, f"127.0.0.1:{node.raft_port}", pid, "yes", node.ingress_url, node.admin_url]
    ]
    partition_rows = [line.split() for line in lines if line.startswith("0 ")]  # partition 0
    assert len(partition_rows) == 1
    row = partition_rows[0]
    assert row[:3] == ["0", "0", NODE_NAME] and row[4:6] == [NODE_NAME, "leader"]
    assert int(row[3]) >= 1  # the term
    assert int(row[6]) >= applied and int(row[7]) >= int(row[6])

    # The URL from the environment; each view alone.
    env = {"PERDURE_ADMIN_URL": node.admin_url}
    nodes = perdure("cluster", "nodes", env=env)
    assert nodes.returncode == 0
    assert nodes.stdout.splitlines()[0].split() == [
        "NAME",
        "ADDRESS",
        "PID",
        "ALIVE",
        "INGRESS",
        "ADMIN",
    ]
    assert len(nodes.stdout.splitlines()) == 2
    partitions = perdure("cluster", "partitions", env=env)
    assert partitions.returncode == 0
    assert partitions.stdout.splitlines()[0].split()[:3] == ["ID", "RAFT-GROUP", "LEADER"]
    assert len(partitions.stdout.splitlines()) == 1 + 24

    raw = perdure("cluster", "status", "--json", "--admin-url", node.admin_url)
    assert raw.returncode == 0
    doc = json.loads(raw.stdout)
    assert doc["nodes"][0]["pid"] == int(pid)
    assert doc["partitions"][0]["leader"] == NODE_NAME


def test_perdure_says_in_one_line_that_a_node_is_unreachable() -> None:
    url = f"http://127.0.0.1:{free_port()}"  # nothing listens there
    result = perdure("cluster", "status", "--admin-url", url)
    assert result.returncode == 1
    assert result.stdout == ""
    assert result.stderr.startswith(f"perdure: cannot reach the admin API at {url}")
    assert result.stderr.count("\n") == 1
    assert "Traceback" not in result.stderr
