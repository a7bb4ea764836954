"""The README's `make cluster` path: the script starts three nodes and the examples, any node
serves the README's curl lines, and Ctrl-C stops every process it started."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import psutil

from node.local import ROOT, free_port, free_ports, http, wait_until

JSON = {"content-type": "application/json"}


def test_cluster_script_serves_through_every_node_and_stops_on_ctrl_c(tmp_path: Path) -> None:
    ingress = [free_port() for _ in range(3)]
    admin = [free_port() for _ in range(3)]
    env = dict(
        os.environ,
        PERDURE_CLUSTER_DIR=str(tmp_path / "cluster"),
        CLUSTER_INGRESS_PORTS=",".join(map(str, ingress)),
        CLUSTER_ADMIN_PORTS=",".join(map(str, admin)),
        CLUSTER_GRPC_PORTS=",".join(str(free_port()) for _ in range(3)),
        CLUSTER_RAFT_PORT=str(free_ports(1)),
        CLUSTER_INTERNAL_PORT=str(free_ports(1)),
        EXAMPLES_PORT=str(free_port()),
    )
    proc = subprocess.Popen(
        [sys.executable, "-m", "scripts.run_cluster"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:

        def registered() -> bool:
            if proc.poll() is not None:
                raise AssertionError(f"the script exited: {proc.stdout.read()!r}")  # type: ignore[union-attr]
            status, _, body = http("GET", f"http://127.0.0.1:{admin[2]}/services", timeout=1)
            return status == 200 and len(json.loads(body)["services"]) == 4

        wait_until(registered, 60, "the cluster and the example services")
        children = psutil.Process(proc.pid).children(recursive=True)
        assert len(children) >= 4  # three nodes and the examples
        for i, port in enumerate(ingress):
            status, _, body = http(
                "POST", f"http://127.0.0.1:{port}/Counter/alice/add", b"5", JSON, timeout=10
            )
            assert (status, int(body)) == (200, 5 * (i + 1))
        status, _, body = http("GET", f"http://127.0.0.1:{admin[0]}/cluster", timeout=5)
        view = json.loads(body)
        assert [n["name"] for n in view["nodes"]] == ["n1", "n2", "n3"]
        assert view["partitions"][0]["leader"] in ("n1", "n2", "n3")
    finally:
        proc.send_signal(signal.SIGINT)
        out, _ = proc.communicate(timeout=60)
    assert proc.returncode == 0, out[-2000:]
    assert b"kill -9" in out and b"perdure cluster status" in out
    assert not [c for c in children if c.is_running() and c.status() != psutil.STATUS_ZOMBIE]
