"""Admin invocation commands: kill, pause/resume, purge, restart-as-new, and Restate's codes
for commands on completed invocations."""

from __future__ import annotations

import json

from node.local import http, wait_until
from tests.e2e.conftest import Cluster
from tests.e2e.helpers import admin, output, send, wait_output


def test_kill_ends_a_sleeping_invocation_with_409(cluster: Cluster) -> None:
    invocation_id = send(cluster, "/Sleepy/forever", "k1")
    wait_until(lambda: output(cluster, invocation_id)[0] == 470, 10, "it to run")
    assert admin(cluster, "PATCH", f"/invocations/{invocation_id}/kill")[0] == 200
    status, body = wait_output(cluster, invocation_id)
    assert status == 409
    assert body["message"] == "killed"
    assert cluster.lines("k1.compensated") == []  # kill runs no user code


def test_purge_and_restart_as_new(cluster: Cluster) -> None:
    invocation_id = send(cluster, "/Lists/p/append", "a")
    assert wait_output(cluster, invocation_id) == (200, ["a"])
    status, body = admin(cluster, "PATCH", f"/invocations/{invocation_id}/restart-as-new")
    assert status == 200
    new_id = body["new_invocation_id"]
    assert wait_output(cluster, new_id) == (200, ["a", "a"])
    assert admin(cluster, "PATCH", f"/invocations/{invocation_id}/purge")[0] == 200
    assert output(cluster, invocation_id)[0] == 404


def test_purging_a_running_invocation_is_refused(cluster: Cluster) -> None:
    invocation_id = send(cluster, "/Sleepy/forever", "p2")
    wait_until(lambda: output(cluster, invocation_id)[0] == 470, 10, "it to run")
    assert admin(cluster, "PATCH", f"/invocations/{invocation_id}/purge")[0] == 409
    assert admin(cluster, "PATCH", f"/invocations/{invocation_id}/kill")[0] == 200


def test_unknown_invocation_is_404(cluster: Cluster) -> None:
    unknown = "inv_1" + "0" * 33  # well formed (Restate's length), never created
    assert admin(cluster, "PATCH", f"/invocations/{unknown}/kill")[0] == 404
    status, body = admin(cluster, "PATCH", "/invocations/inv_1" + "0" * 30 + "/kill")
    assert status == 400 and "it has 35 characters, an id has 38" in str(body), body


def test_commands_on_a_completed_invocation_answer_as_restate(cluster: Cluster) -> None:
    invocation_id = send(cluster, "/Lists/r/append", "a")
    assert wait_output(cluster, invocation_id) == (200, ["a"])
    for command in ("cancel", "kill"):
        status, body = admin(cluster, "PATCH", f"/invocations/{invocation_id}/{command}")
        assert status == 409 and "already completed" in body["message"], (command, body)
    status, body = admin(cluster, "PATCH", f"/invocations/{invocation_id}/restart-as-new")
    assert status == 200
    new_id = body["new_invocation_id"]
    assert wait_output(cluster, new_id) == (200, ["a", "a"])
    sql = f"SELECT restarted_from FROM sys_invocation WHERE id = '{new_id}'"
    status, _, out = http(
        "POST",
        cluster.node.admin_url + "/query",
        json.dumps({"query": sql}).encode(),
        {"content-type": "application/json", "accept": "application/json"},
    )
    assert status == 200 and json.loads(out)["rows"] == [{"restarted_from": invocation_id}], out
