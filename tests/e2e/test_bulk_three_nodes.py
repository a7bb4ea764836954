"""Bulk invocation commands and service changes on three nodes with two partition groups each:
asked through any node, each group's leader (wherever it runs) appends the one record, every
replica applies it, and the replicas end byte-identical."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from node.local import http, wait_until
from tests.e2e.helpers import query_rows
from tests.e2e.test_three_nodes import running_three
from tests.query.test_query_partition_processes import keys_in_each_group

JSON = {"content-type": "application/json"}


def admin(url: str, method: str, path: str, body: Any = None) -> tuple[int, Any]:
    data = None if body is None else json.dumps(body).encode()
    status, _, out = http(method, url + path, data, JSON, timeout=30)
    return status, (json.loads(out) if out else None)


def query(url: str, sql: str) -> list[dict[str, Any]]:
    return query_rows(url, sql)


def test_bulk_kill_and_a_service_change_through_a_node_that_leads_neither_group(
    tmp_path: Path,
) -> None:
    with running_three(tmp_path, {"PERDURE_PARTITION_PROCESSES": "2"}) as cluster:
        first, third = cluster.nodes[0], cluster.nodes[2]

        def settled() -> bool:  # group g led by its preferred node (n1, n2): n3 leads neither
            parts = cluster.status(2)["partitions"]
            return all(p["leader"] == f"n{p['raft_group'] + 1}" for p in parts)

        wait_until(settled, 30, "each group's preferred node to lead it")
        keys = keys_in_each_group(2) * 25  # 100 delayed sends over both groups
        for i, key in enumerate(keys):  # a loaded machine may still see an election: retried
            url = f"{first.ingress_url}/Lists/{key}/append/send?delay=1h"
            headers = {**JSON, "idempotency-key": f"s{i}"}
            sent = lambda u=url, h=headers: http("POST", u, b'"x"', h)[0] == 202  # noqa: E731
            wait_until(sent, 20, f"send {i}")
        affected = 0

        def killed() -> bool:  # repeated only if a group could not be reached (an election)
            nonlocal affected
            status, out = admin(
                third.admin_url,
                "POST",
                "/invocations/bulk/kill",
                {"service": "Lists", "status": "scheduled"},
            )
            assert status in (200, 503), out
            assert out["partition_groups"] == 2, out
            affected += out["affected"]
            return status == 200

        wait_until(killed, 30, "the bulk kill to reach both groups")
        assert affected <= 100
        rows = query(
            third.admin_url,
            "SELECT status, COUNT(*) AS n FROM sys_invocation "
            "WHERE target_service_name = 'Lists' GROUP BY status",
        )
        assert rows == [{"status": "completed", "n": 100}], rows
        status, out = admin(third.admin_url, "PATCH", "/services/Lists", {"public": False})
        assert status == 200 and out["public"] is False, out
        cluster.wait_quiet()
        for node in cluster.nodes:
            status, out = admin(node.admin_url, "GET", "/services/Lists")
            assert out["public"] is False, (node.data_dir, out)
            status, _, body = http("POST", f"{node.ingress_url}/Lists/a/append", b'"y"', JSON)
            assert status == 400, body
        cluster.stop()
        cluster.check_replicas_agree()
