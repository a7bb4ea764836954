"""One real node (and a deployment of the example services) for every fuzzer of a session,
with the invariants they share: nothing acknowledged changes, no traceback in the node's log,
and the node still serves when they are done."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from node.local import http
from tests.e2e.conftest import Cluster, running_cluster

JSON = {"content-type": "application/json"}
# Keys the fuzzers never generate: what the invariant checks is not touched by them.
ACKED_COUNTER = "/Counter/acknowledged-c0ffee/add"
ACKED_VALUE = 7


@dataclass
class FuzzNode:
    cluster: Cluster
    log_file: Path

    @property
    def ingress_port(self) -> int:
        return self.cluster.node.ingress_port

    @property
    def admin_port(self) -> int:
        return self.cluster.node.admin_port

    def log_text(self) -> str:
        return self.log_file.read_text(errors="replace") if self.log_file.exists() else ""

    def check_invariants(self, log_before: int) -> None:
        """The node still serves, the acknowledged counter kept its value, and the log written
        since offset `log_before` holds no traceback (a client error is not a server failure)."""
        status, _, body = http("GET", self.cluster.ingress + ACKED_COUNTER[:-4] + "/get")
        assert (status, json.loads(body)) == (200, ACKED_VALUE), body
        status, _, _ = http("GET", f"http://127.0.0.1:{self.admin_port}/health")
        assert status == 200
        new = self.log_text()[log_before:]
        assert "Traceback" not in new, f"the node logged a traceback:\n{new[-4000:]}"


@pytest.fixture(scope="session")
def fuzz_node(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FuzzNode]:
    directory = tmp_path_factory.mktemp("fuzz-node")
    node_env = {
        # Short enough that a half-sent request is answered within a fuzzer's budget.
        "PERDURE_HTTP_HEADER_TIMEOUT_MS": "1000",
        "PERDURE_HTTP_BODY_TIMEOUT_MS": "1000",
    }
    with running_cluster(directory, "examples.services:app", node_env=node_env) as cluster:
        status, _, body = http(
            "POST", cluster.ingress + ACKED_COUNTER, str(ACKED_VALUE).encode(), JSON
        )
        assert (status, json.loads(body)) == (200, ACKED_VALUE), body
        yield FuzzNode(cluster, directory / "data.log")


@pytest.fixture
def node(fuzz_node: FuzzNode) -> Iterator[FuzzNode]:
    """The shared node; after the test, the invariants hold."""
    before = len(fuzz_node.log_text())
    yield fuzz_node
    fuzz_node.check_invariants(before)
