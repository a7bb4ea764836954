"""`make run`: one node with embedded defaults (data in ./.perdure-data, ingress :8080,
admin :9070) plus the example services on :9080, registered, until Ctrl-C."""

from __future__ import annotations

import os
import sys
from pathlib import Path

from node.local import ROOT, LocalDeployment, LocalNode, stop_all, until_interrupted, wait_for_exit

CURLS = """
Perdure is running with the example services. Try:

  curl localhost:8080/Greeter/greet -H 'content-type: application/json' -d '"World"'
  curl localhost:8080/Counter/alice/add -H 'content-type: application/json' -d '5'
  curl localhost:8080/Counter/alice/get
  curl localhost:8080/Steps/run3 -H 'content-type: application/json' -d '1'
  curl localhost:8080/Counter/alice/add/send -H 'content-type: application/json' -d '1'
  curl localhost:8080/restate/invocation/<invocationId>/output
  curl localhost:9070/services

Logs: .perdure-data.log and .perdure-examples.log. Press Ctrl-C to stop.
"""


def main() -> int:
    data = Path(os.environ.get("PERDURE_DATA_DIR", ROOT / ".perdure-data"))
    node = LocalNode(
        data,
        ingress_port=int(os.environ.get("PERDURE_INGRESS_PORT", "8080")),
        admin_port=int(os.environ.get("PERDURE_ADMIN_PORT", "9070")),
        grpc_port=int(os.environ.get("PERDURE_GRPC_PORT", "9090")),
        raft_port=int(os.environ.get("PERDURE_RAFT_PORT", "5123")),
    )
    deployment = LocalDeployment(
        ROOT / ".perdure-examples.log", port=int(os.environ.get("EXAMPLES_PORT", "9080"))
    )
    interrupted = until_interrupted()
    try:
        deployment.start()
        node.start()
        node.register(deployment.uri, force=True)
        print(CURLS, flush=True)
        processes = [p for p in (node.process, deployment.process) if p is not None]
        if wait_for_exit(processes, interrupted):
            print("a process exited; see the logs", file=sys.stderr)
            return 1
        return 0
    except KeyboardInterrupt:
        return 0
    finally:
        stop_all([node, deployment])


if __name__ == "__main__":
    sys.exit(main())
