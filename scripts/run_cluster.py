"""`make cluster`: three nodes on this machine (n1..n3 on 127.0.0.1..3, Raft :5400 and fabric
:5500 on each; ingress :8080-8082, admin :9070-9072; data and logs in ./.perdure-cluster) plus
the example services on :9080, registered once, until Ctrl-C."""

from __future__ import annotations

import os
import sys
from pathlib import Path

from node.local import (
    ROOT,
    LocalCluster,
    LocalDeployment,
    stop_all,
    until_interrupted,
    wait_for_exit,
)

CURLS = """
A 3-node Perdure cluster is running with the example services. Any node serves any request:

  curl localhost:9070/cluster
  curl localhost:8080/Counter/alice/add -H 'content-type: application/json' -d 5
  curl localhost:8081/Counter/alice/add -H 'content-type: application/json' -d 5
  curl localhost:8082/Counter/alice/get
  .venv/bin/perdure cluster status          (nodes | partitions; --json)
  kill -9 {pid}     (the leader, n{leader}: another node answers within a second)

Logs: .perdure-cluster/n1.log .. n3.log and .perdure-cluster/examples.log. Ctrl-C stops it all.
"""


def _ports(text: str) -> list[int]:
    return [int(p) for p in text.split(",")]


def main() -> int:
    root = Path(os.environ.get("PERDURE_CLUSTER_DIR", ROOT / ".perdure-cluster"))
    processes = os.environ.get("PERDURE_PARTITION_PROCESSES", "1")
    env = os.environ.get
    cluster = LocalCluster(
        root,
        3,
        ingress_ports=_ports(env("CLUSTER_INGRESS_PORTS", "8080,8081,8082")),
        admin_ports=_ports(env("CLUSTER_ADMIN_PORTS", "9070,9071,9072")),
        grpc_ports=_ports(env("CLUSTER_GRPC_PORTS", "9090,9091,9092")),
        raft_port=int(env("CLUSTER_RAFT_PORT", "5400")),  # + group, on each node's address
        internal_port=int(env("CLUSTER_INTERNAL_PORT", "5500")),
        extra_env={"PERDURE_PARTITION_PROCESSES": processes},
    )
    deployment = LocalDeployment(
        root / "examples.log", port=int(os.environ.get("EXAMPLES_PORT", "9080"))
    )
    interrupted = until_interrupted()
    try:
        deployment.start()
        cluster.start()
        cluster.register(deployment.uri, force=True)
        status = cluster.status()
        leader = status["partitions"][0]["leader"] or "?"
        pid = next((n["pid"] for n in status["nodes"] if n["name"] == leader), "<pid>")
        print(CURLS.format(pid=pid, leader=leader.lstrip("n")), flush=True)
        watched = [p for p in (deployment.process,) if p is not None]
        if wait_for_exit(watched, interrupted):
            print("the example services exited; see the logs", file=sys.stderr)
            return 1
        return 0
    except KeyboardInterrupt:
        return 0
    finally:
        stop_all([*cluster.nodes, deployment])


if __name__ == "__main__":
    sys.exit(main())
