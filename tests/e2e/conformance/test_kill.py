"""Restate's `KillInvocation`: `PATCH /invocations/{id}/kill` ends an invocation at once, without
running user code, and kills the calls it is waiting on recursively (also one still queued in a
key's inbox), which frees their keys; invocations it only sent to keep running."""

from __future__ import annotations

from node.local import wait_until
from tests.e2e.conformance.helpers import invoke, new_key, wait_done, wait_held
from tests.e2e.conftest import Cluster
from tests.e2e.helpers import admin, call, send, wait_output


def test_kill_a_call_tree(conformance: Cluster) -> None:
    key = new_key()
    invocation_id = send(conformance, f"/KillTestRunner/{key}/startCallTree")
    # The call tree is built: recursiveCall parked its awakeable; unlocking it makes it call
    # itself on its own key, which queues behind it forever.
    wait_held(conformance, key)
    call(conformance, f"/AwakeableHolder/{key}/unlock", "go")
    inner = f"/restate/invocation/KillTestSingleton/{key}/recursiveCall/inner/output"
    wait_until(lambda: invoke(conformance, inner, method="GET")[0] == 470, 10, "the inner call")

    assert admin(conformance, "PATCH", f"/invocations/{invocation_id}/kill")[0] == 200

    status, body = wait_output(conformance, invocation_id)
    assert (status, body["message"]) == (409, "killed")
    # Both recursiveCall invocations are gone, so the singleton's key is free again.
    unlocked = send(conformance, f"/KillTestSingleton/{key}/isUnlocked")
    assert wait_done(conformance, unlocked, timeout=10) == (200, b"")


def test_kill_does_not_reach_sent_invocations(conformance: Cluster) -> None:
    key = new_key()
    invocation_id = send(conformance, f"/KillTestRunner/{key}/sendThenBlock")
    wait_held(conformance, key)  # the parent blocks
    wait_held(conformance, f"{key}-child")  # the child it sent blocks too

    assert admin(conformance, "PATCH", f"/invocations/{invocation_id}/kill")[0] == 200
    status, body = wait_output(conformance, invocation_id)
    assert (status, body["message"]) == (409, "killed")

    call(conformance, f"/AwakeableHolder/{key}-child/unlock", "still alive")
    child = f"/restate/invocation/Blocked/{key}-child/awaitAwakeable/child-of-{key}/attach"
    status, _, body = invoke(conformance, child, method="GET")
    assert (status, body) == (200, "child:still alive")
