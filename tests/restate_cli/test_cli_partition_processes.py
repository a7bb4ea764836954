"""The restate CLI against a node of two partition processes: bulk cancel and state clear over
keys of both groups, and a deployment removed from every group (through each group's log, so it
stays removed across a restart)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from node.local import LocalDeployment, http, wait_until
from tests.query.test_query_partition_processes import keys_in_each_group
from tests.restate_cli.cli import RestateCli
from tests.restate_cli.conftest import JSON, Perdure, start_perdure


@pytest.fixture(scope="module")
def two(tmp_path_factory: pytest.TempPathFactory, cli: RestateCli) -> Iterator[Perdure]:
    running = start_perdure(
        tmp_path_factory.mktemp("two-processes"), cli, {"PERDURE_PARTITION_PROCESSES": "2"}
    )
    try:
        yield running
    finally:
        running.node.stop()
        running.deployment.stop()


def test_cancel_by_service_reaches_both_partition_processes(two: Perdure) -> None:
    runs = [two.send(f"/Payment/{key}/run", 1) for key in keys_in_each_group(2)]
    for run in runs:
        two.wait_status(run, "suspended")
    out = two.restate("invocations", "cancel", "Payment")
    assert "Cancelled 4 invocations" in out and all(run in out for run in runs)
    for run in runs:
        two.wait_status(run, "completed")


def test_state_clear_of_a_service_clears_keys_of_both_groups(two: Perdure) -> None:
    keys = keys_in_each_group(2)
    for key in keys:
        status, _, out = two.call(f"/Counter/{key}/add", 4)
        assert status == 200, out
    shown = two.restate("state", "get", "Counter", keys[-1])  # a key of the other group
    assert " 4 " in shown
    two.restate("state", "clear", "Counter")
    wait_until(
        lambda: not two.query("SELECT key FROM state WHERE service_name = 'Counter'"),
        10,
        "every Counter key's state to be cleared",
    )


def test_a_removed_deployment_is_gone_from_every_group_and_stays_gone(two: Perdure) -> None:
    extra = LocalDeployment(two.tmp / "extra.log", app="tests.restate_cli.services:extra_app")
    extra.start()
    try:
        extra_id = str(two.node.register(extra.uri)["id"])
        status, _, _ = http("POST", two.node.ingress_url + "/Extra/hello", b"", JSON)
        assert status == 200
        # Without force Perdure refuses: the deployment serves Extra's latest revision.
        status, _, body = http("DELETE", f"{two.node.admin_url}/v4/deployments/{extra_id}")
        assert status == 409 and b"Extra" in body, body
        refused = two.cli.run(two.node.admin_url, "deployments", "remove", extra_id)
        assert refused.code != 0 and "Deployment is still Active" in refused.output
        out = two.restate("deployments", "remove", "--force", extra_id)
        assert f"Deployment {extra_id} removed successfully" in out
        assert extra_id not in two.restate("deployments", "list")
        assert "Extra" not in two.restate("services", "list")
        for _ in range(8):  # each process's ingress (SO_REUSEPORT spreads the connections)
            status, _, _ = http("POST", two.node.ingress_url + "/Extra/hello", b"", JSON)
            assert status == 404
    finally:
        extra.stop()
    two.node.stop()
    two.node.start()
    listed = two.restate("deployments", "list")
    assert extra_id not in listed and two.deployment_id in listed
    status, _, _ = http("DELETE", f"{two.node.admin_url}/deployments/{extra_id}?force=true")
    assert status == 404
