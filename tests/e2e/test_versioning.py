"""Deployment versioning: new invocations go to the newest deployment, running ones stay on the
deployment that started them."""

from __future__ import annotations

from node.local import LocalDeployment, wait_until
from tests.e2e.conftest import Cluster
from tests.e2e.helpers import call, send, wait_output


def test_running_invocations_stay_pinned_while_new_ones_use_the_new_deployment(
    cluster: Cluster,
) -> None:
    old = send(cluster, "/Versioned/which", 2000)
    wait_until(lambda: cluster.lines("which2000.lines") == ["started"], 10, "it to start")
    v2 = LocalDeployment(
        cluster.dir / "v2.log",
        app="tests.e2e.services:app",
        extra_env={"E2E_DIR": str(cluster.dir), "E2E_VERSION": "v2"},
    )
    v2.start()
    try:
        cluster.node.register(v2.uri)
        assert call(cluster, "/Versioned/which", 0) == "v2"
        # the first deployment has no E2E_VERSION: it answers "?"
        assert wait_output(cluster, old) == (200, "?")
    finally:
        v2.stop()
