"""Membership changes with real processes and the real `perdure` command line: a fourth node
joins a running cluster (snapshot first, out of elections until added), the leader's node
leaves (leadership moves first), the cluster keeps serving on the remaining majority, and an
operator moves a partition's leadership where it then stays."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from node.local import ROOT, LocalCluster, http, wait_until
from tests.e2e.test_three_nodes import add_ones, post, running_three


def perdure(cluster: LocalCluster, via: int, *args: str) -> Any:
    """Run `perdure --admin-url ... cluster ARGS` (the real command line); its JSON answer."""
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "cli",
            "cluster",
            *args,
            "--admin-url",
            cluster.nodes[via].admin_url,
        ],
        capture_output=True,
        text=True,
        timeout=150,
        cwd=ROOT,
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def answers(url: str) -> bool:
    try:
        return http("GET", url, timeout=1)[0] == 200
    except OSError:
        return False


def partition0(cluster: LocalCluster, via: int) -> dict[str, Any]:
    partition: dict[str, Any] = cluster.status(via)["partitions"][0]
    return partition


def test_a_node_joins_the_leaders_node_leaves_and_leadership_moves_where_asked(
    tmp_path: Path,
) -> None:
    with running_three(tmp_path, {"PERDURE_TRIM_EVERY_RECORDS": "20"}, 0) as cluster:
        wait_until(lambda: partition0(cluster, 0)["leader"] == "n1", 20, "n1 to lead")
        add_ones(cluster, "m", range(50), 3)
        term = partition0(cluster, 0)["term"]

        n4 = cluster.new_node("n4", "127.0.0.4")
        n4.launch()
        time.sleep(2.0)  # many election timeouts: it waits to be added and disturbs no one
        assert not answers(n4.admin_url + "/health")
        assert partition0(cluster, 1)["term"] == term

        added = perdure(cluster, 1, "add", "n4", "127.0.0.4")
        assert added["members"] == ["n1", "n2", "n3", "n4"]
        n4.wait_ready(30)
        status, body = post(n4.ingress_url + "/Counter/m/add", b"1")
        assert status == 200 and int(body) == 51
        n4_log = (tmp_path / "cluster" / "n4.log").read_text()
        assert "installed a snapshot" in n4_log and "added to the cluster" in n4_log
        wait_until(
            lambda: [n["name"] for n in cluster.status(0)["nodes"]] == ["n1", "n2", "n3", "n4"],
            10,
            "every node to be listed by name",
        )

        # The leader's node leaves: its leadership moves first, then the others go on.
        removed = perdure(cluster, 1, "remove", "n1")
        assert removed["members"] == ["n2", "n3", "n4"]
        n1 = cluster.nodes.pop(0)
        n1.stop()
        status, body = post(cluster.nodes[1].ingress_url + "/Counter/m/add", b"1")
        assert status == 200 and int(body) == 52
        leader = partition0(cluster, 0)["leader"]
        assert leader in ("n2", "n3", "n4")

        # An operator moves the leadership to another member: it moves, and stays there.
        target = next(n for n in ("n3", "n2", "n4") if n != leader)
        moved = perdure(cluster, 0, "lead", "0", target)
        assert moved["leader"] == target
        time.sleep(6.0)  # longer than the campaign waits before handing leadership "back"
        assert partition0(cluster, 0)["leader"] == target

        # Three members: losing one still leaves a majority.
        victim = next(i for i, n in enumerate(("n2", "n3", "n4")) if n != target)
        cluster.nodes.pop(victim).kill9()
        status, body = post(cluster.nodes[0].ingress_url + "/Counter/m/add", b"1")
        assert status == 200 and int(body) == 53
        cluster.wait_quiet()
    digests = cluster.store_digests()
    assert len({d for _, d in digests.values()}) == 1, digests
