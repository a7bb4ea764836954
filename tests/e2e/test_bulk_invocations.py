"""POST /invocations/bulk/{command} on a real node of two partition processes: one log record
per partition group selects the matching invocations from its store and changes them all in
one write, and the answer counts them (10,000 here)."""

from __future__ import annotations

import http.client
import json
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from cli.main import main
from node.local import http as request
from tests.e2e.conftest import Cluster, running_cluster
from tests.e2e.helpers import query_rows

JSON = {"content-type": "application/json"}
N = 10_000


@pytest.fixture(scope="module")
def two(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    directory: Path = tmp_path_factory.mktemp("bulk")
    with running_cluster(
        directory,
        "tests.e2e.services:app",
        {"E2E_DIR": str(directory)},
        {"PERDURE_PARTITION_PROCESSES": "2"},
    ) as c:
        yield c


def delayed_sends(c: Cluster, path: str, count: int, threads: int = 8) -> None:
    """`count` sends of `path` due in an hour (they stay scheduled), over kept-alive
    connections (the ingress spreads them over both processes)."""
    host, port = c.node.host, c.node.ingress_port

    def some(n: int) -> int:
        conn = http.client.HTTPConnection(host, port, timeout=30)
        for i in range(n):
            conn.request("POST", f"{path}/send?delay=1h", json.dumps(f"n{i}"), JSON)
            response = conn.getresponse()
            response.read()
            assert response.status == 202, response.status
        conn.close()
        return n

    shares = [count // threads + (1 if i < count % threads else 0) for i in range(threads)]
    with ThreadPoolExecutor(threads) as pool:
        assert sum(pool.map(some, shares)) == count


def admin(c: Cluster, method: str, path: str, body: Any = None) -> tuple[int, Any]:
    data = None if body is None else json.dumps(body).encode()
    status, _, out = request(method, c.node.admin_url + path, data, JSON, timeout=60)
    return status, (json.loads(out) if out else None)


def query_json(c: Cluster, sql: str) -> list[dict[str, Any]]:
    return query_rows(c.node.admin_url, sql, timeout=60)


def test_bulk_cancel_then_purge_of_ten_thousand_scheduled_invocations(
    two: Cluster, capsys: pytest.CaptureFixture[str]
) -> None:
    delayed_sends(two, "/Sleepy/nap", N)
    delayed_sends(two, "/Sleepy/forever", 20)  # same service, another handler: untouched
    naps = "target_service_name = 'Sleepy' AND target_handler_name = 'nap'"
    (row,) = query_json(
        two, f"SELECT COUNT(*) AS n FROM sys_invocation WHERE {naps} AND status = 'scheduled'"
    )
    assert row["n"] == N

    started = time.monotonic()
    status, out = admin(
        two,
        "POST",
        "/invocations/bulk/cancel",
        {"service": "Sleepy", "handler": "nap", "status": "scheduled"},
    )
    print(f"bulk cancel of {N} invocations over 2 groups: {time.monotonic() - started:.2f} s")
    assert status == 200, out
    assert out == {"command": "cancel", "affected": N, "partition_groups": 2, "completed_groups": 2}
    rows = query_json(
        two,
        f"SELECT status, completion_failure, COUNT(*) AS n FROM sys_invocation WHERE {naps} "
        "GROUP BY status, completion_failure",
    )
    assert rows == [{"status": "completed", "completion_failure": "[409] cancelled", "n": N}]
    (other,) = query_json(
        two,
        "SELECT status, COUNT(*) AS n FROM sys_invocation WHERE target_handler_name = 'forever' "
        "GROUP BY status",
    )
    assert other == {"status": "scheduled", "n": 20}

    status, out = admin(
        two, "POST", "/invocations/bulk/purge", {"service": "Sleepy", "status": ["completed"]}
    )
    assert status == 200 and out["affected"] == N, out
    assert query_json(two, f"SELECT COUNT(*) AS n FROM sys_invocation WHERE {naps}") == [{"n": 0}]
    # perdure's CLI asks the same endpoint
    capsys.readouterr()
    argv = ["invocations", "kill", "--service", "Sleepy", "--admin-url", two.node.admin_url]
    assert main(argv) == 0
    assert capsys.readouterr().out == "Killed 20 invocations (2 of 2 partition groups)\n"


def test_bulk_command_refuses_a_missing_or_unknown_filter(two: Cluster) -> None:
    status, out = admin(two, "POST", "/invocations/bulk/kill", {})
    assert status == 400 and "a filter is required" in out["message"]
    status, out = admin(two, "POST", "/invocations/bulk/kill", {"status": "sleeping"})
    assert status == 400 and "'sleeping' is not one of" in out["message"]
    status, out = admin(two, "POST", "/invocations/bulk/explode", {"service": "Sleepy"})
    assert status == 404
    status, out = admin(two, "GET", "/invocations/bulk/kill")
    assert status == 405
