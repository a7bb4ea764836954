"""A node gives memory back after a big request: RSS under 200 MB again after a 31 MiB body
went through the ingress, the log, the store, the deployment and back (it stayed at ~750 MB:
glibc kept the freed buffers, and the log and the memtable held both copies)."""

from __future__ import annotations

import json
import time
from pathlib import Path

import psutil

from node.local import http, wait_until
from tests.e2e.conftest import running_cluster

JSON = {"content-type": "application/json"}
LIMIT_MB = 200


def test_rss_returns_under_200_mb_after_a_31_mib_request(tmp_path: Path) -> None:
    with running_cluster(tmp_path, "examples.services:app") as cluster:
        node = cluster.node
        assert node.process is not None
        process = psutil.Process(node.process.pid)

        def rss_mb() -> float:
            return float(process.memory_info().rss) / 2**20

        idle = rss_mb()
        body = json.dumps("x" * (31 * 2**20 - 16)).encode()
        status, _, out = http("POST", node.ingress_url + "/Greeter/greet", body, JSON, timeout=120)
        assert status == 200 and len(out) > len(body)
        peak = rss_mb()
        for _ in range(5):  # the node goes on serving small requests
            assert http("POST", node.ingress_url + "/Greeter/greet", b'"a"', JSON)[0] == 200
        started = time.monotonic()
        wait_until(lambda: rss_mb() < LIMIT_MB, 30, f"the node's RSS to fall under {LIMIT_MB} MB")
        print(
            f"RSS idle {idle:.0f} MB, after the 31 MiB request {peak:.0f} MB, "
            f"{rss_mb():.0f} MB {time.monotonic() - started:.1f} s later"
        )
