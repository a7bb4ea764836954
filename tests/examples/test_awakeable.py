"""examples/awakeable.py: a signup waits for a confirmation completed by a handler or over HTTP."""

from __future__ import annotations

from node.local import http, wait_until
from tests.e2e.conformance.helpers import new_key
from tests.e2e.conftest import Cluster
from tests.e2e.helpers import call, send, wait_output

EXAMPLE = "examples.awakeable:app"


def _signup(c: Cluster) -> tuple[str, str, str]:
    """Start a signup; return (email, invocation id, awakeable id) once the mail arrived."""
    email = f"{new_key()}@example.com"
    invocation_id = send(c, "/Signups/signup", email)
    wait_until(lambda: call(c, f"/Mailbox/{email}/pending") is not None, 20, "the mail")
    awakeable_id: str = call(c, f"/Mailbox/{email}/pending")
    return email, invocation_id, awakeable_id


def test_confirmed_by_a_handler(example: Cluster) -> None:
    email, invocation_id, _ = _signup(example)
    call(example, f"/Mailbox/{email}/confirm", "1234")
    assert wait_output(example, invocation_id) == (200, f"{email} confirmed with code 1234")
    assert call(example, f"/Mailbox/{email}/pending") is None


def test_declined_by_a_handler(example: Cluster) -> None:
    email, invocation_id, _ = _signup(example)
    call(example, f"/Mailbox/{email}/decline", "not me")
    assert wait_output(example, invocation_id) == (200, f"{email} declined: not me")


def test_resolved_over_http(example: Cluster) -> None:
    email, invocation_id, awakeable_id = _signup(example)
    url = f"{example.ingress}/restate/awakeables/{awakeable_id}/resolve"
    status, _, _ = http("POST", url, b'"5678"', {"content-type": "application/json"})
    assert status == 202
    assert wait_output(example, invocation_id) == (200, f"{email} confirmed with code 5678")


def test_rejected_over_http(example: Cluster) -> None:
    email, invocation_id, awakeable_id = _signup(example)
    url = f"{example.ingress}/restate/awakeables/{awakeable_id}/reject"
    status, _, _ = http("POST", url, b"spam", {"content-type": "text/plain"})
    assert status == 202
    assert wait_output(example, invocation_id) == (200, f"{email} declined: spam")
