"""Restate's `WorkflowAPI`: a workflow's run waits on a durable promise resolved by a shared
handler; run runs once per key (send again -> PreviouslyAccepted, call again -> 409); its result
is served at /restate/workflow/{name}/{key}/attach|output; a promise completes only once."""

from __future__ import annotations

import json
import threading

from node.local import http, wait_until
from tests.e2e.conformance.helpers import invoke, new_key
from tests.e2e.conftest import Cluster
from tests.e2e.helpers import call


def _workflow(c: Cluster, key: str, action: str) -> tuple[int, object]:
    status, _, body = http(
        "GET", f"{c.ingress}/restate/workflow/BlockAndWaitWorkflow/{key}/{action}"
    )
    return status, json.loads(body) if body else None


def test_set_and_resolve_durable_promise_leads_to_completion(conformance: Cluster) -> None:
    key = new_key()
    status, _, sent = invoke(conformance, f"/BlockAndWaitWorkflow/{key}/run/send", "Francesco")
    assert (status, sent["status"]) == (202, "Accepted")

    wait_until(
        lambda: call(conformance, f"/BlockAndWaitWorkflow/{key}/getState") == "Francesco",
        20,
        "the workflow to set its state",
    )
    assert call(conformance, f"/BlockAndWaitWorkflow/{key}/peekPromise") is None
    assert _workflow(conformance, key, "output")[0] == 470

    attached: list[tuple[int, object]] = []
    attacher = threading.Thread(
        target=lambda: attached.append(_workflow(conformance, key, "attach")), daemon=True
    )
    attacher.start()
    call(conformance, f"/BlockAndWaitWorkflow/{key}/unblock", "Till")
    attacher.join(30)
    assert attached == [(200, "Till")]
    assert _workflow(conformance, key, "output") == (200, "Till")
    assert call(conformance, f"/BlockAndWaitWorkflow/{key}/peekPromise") == "Till"

    # Re-submitting has no effect.
    status, _, again = invoke(conformance, f"/BlockAndWaitWorkflow/{key}/run/send", "Francesco")
    assert (status, again["status"]) == (202, "PreviouslyAccepted")
    assert again["invocationId"] == sent["invocationId"]
    assert _workflow(conformance, key, "output") == (200, "Till")


def test_calling_run_again_is_refused_with_409(conformance: Cluster) -> None:
    key = new_key()
    status, _, _ = invoke(conformance, f"/BlockAndWaitWorkflow/{key}/run/send", "first")
    assert status == 202
    call(conformance, f"/BlockAndWaitWorkflow/{key}/unblock", "done")
    assert _workflow(conformance, key, "attach") == (200, "done")
    status, _, body = invoke(conformance, f"/BlockAndWaitWorkflow/{key}/run", "second")
    assert status == 409, body


def test_a_promise_completes_only_once(conformance: Cluster) -> None:
    key = new_key()
    invoke(conformance, f"/BlockAndWaitWorkflow/{key}/run/send", "x")
    call(conformance, f"/BlockAndWaitWorkflow/{key}/unblock", "first")
    status, _, body = invoke(conformance, f"/BlockAndWaitWorkflow/{key}/unblock", "second")
    assert status == 409, body
    assert _workflow(conformance, key, "attach") == (200, "first")


def test_a_rejected_promise_fails_the_run(conformance: Cluster) -> None:
    key = new_key()
    invoke(conformance, f"/BlockAndWaitWorkflow/{key}/run/send", "x")
    call(conformance, f"/BlockAndWaitWorkflow/{key}/rejectPromise", "no way")
    status, body = _workflow(conformance, key, "attach")
    assert status == 422
    assert isinstance(body, dict)
    assert body["message"] == "no way"


def test_a_promise_resolved_before_run_starts_is_seen_by_run(conformance: Cluster) -> None:
    key = new_key()
    call(conformance, f"/BlockAndWaitWorkflow/{key}/unblock", "early")
    assert call(conformance, f"/BlockAndWaitWorkflow/{key}/peekPromise") == "early"
    assert call(conformance, f"/BlockAndWaitWorkflow/{key}/run", "late") == "early"
