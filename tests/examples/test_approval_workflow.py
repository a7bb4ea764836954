"""examples/approval_workflow.py: the expense waits for a human decision (a durable promise)."""

from __future__ import annotations

import json

from node.local import http, wait_until
from tests.e2e.conformance.helpers import invoke, new_key
from tests.e2e.conftest import Cluster
from tests.e2e.helpers import call

EXAMPLE = "examples.approval_workflow:app"


def _workflow(c: Cluster, key: str, action: str) -> tuple[int, object]:
    status, _, body = http("GET", f"{c.ingress}/restate/workflow/ExpenseApproval/{key}/{action}")
    return status, json.loads(body) if body else None


def _start(c: Cluster, key: str) -> str:
    status, _, sent = invoke(
        c, f"/ExpenseApproval/{key}/run/send", {"title": "laptop", "amount": 1200}
    )
    assert (status, sent["status"]) == (202, "Accepted")
    wait_until(
        lambda: call(c, f"/ExpenseApproval/{key}/status") == "waiting for approval",
        20,
        "the expense to wait for approval",
    )
    invocation_id: str = sent["invocationId"]
    return invocation_id


def test_an_approved_expense_is_paid_once(example: Cluster) -> None:
    key = new_key()
    invocation_id = _start(example, key)
    assert _workflow(example, key, "output")[0] == 470  # waiting for a human

    call(example, f"/ExpenseApproval/{key}/approve", {"by": "alice", "comment": "ok"})

    expected = "paid 1200 for 'laptop', approved by alice: ok"
    assert _workflow(example, key, "attach") == (200, expected)
    assert call(example, f"/ExpenseApproval/{key}/status") == "paid"
    # The decision is final, and the workflow ran once.
    status, _, _ = invoke(example, f"/ExpenseApproval/{key}/reject", {"by": "bob", "comment": "no"})
    assert status == 409
    status, _, again = invoke(
        example, f"/ExpenseApproval/{key}/run/send", {"title": "x", "amount": 1}
    )
    assert (status, again) == (202, {"invocationId": invocation_id, "status": "PreviouslyAccepted"})
    assert _workflow(example, key, "output") == (200, expected)


def test_a_rejected_expense_is_not_paid(example: Cluster) -> None:
    key = new_key()
    _start(example, key)
    call(example, f"/ExpenseApproval/{key}/reject", {"by": "bob", "comment": "too expensive"})
    assert _workflow(example, key, "attach") == (200, "rejected by bob: too expensive")
    assert call(example, f"/ExpenseApproval/{key}/status") == "rejected"
