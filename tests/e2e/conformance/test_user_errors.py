"""Restate's `UserErrors`: terminal errors (code, message, metadata) reach the caller, through
calls too; state set before a terminal failure persists; non-terminal failures are retried until
the handler succeeds; a terminal error inside a side effect ends the invocation."""

from __future__ import annotations

from tests.e2e.conformance.helpers import invoke, new_key
from tests.e2e.conftest import Cluster
from tests.e2e.helpers import call


def test_terminally_failing_call(conformance: Cluster) -> None:
    key = new_key()
    req = {"message": "my error", "code": 418}
    status, headers, body = invoke(conformance, f"/Failing/{key}/terminallyFailingCall", req)
    assert status == 418
    assert headers["x-restate-error-source"] == "invocation"
    assert body["code"] == 418
    assert body["message"] == "my error"
    assert body["metadata"] == {"key": key}


def test_fail_several_times(conformance: Cluster) -> None:
    """The deployment stays healthy after terminal failures."""
    for code in (400, 500, 503):
        req = {"message": f"error {code}", "code": code}
        status, _, body = invoke(conformance, f"/Failing/{new_key()}/terminallyFailingCall", req)
        assert (status, body["message"]) == (code, f"error {code}")
    assert call(conformance, "/TestUtilsService/echo", "still fine") == "still fine"


def test_failure_propagates_through_a_call(conformance: Cluster) -> None:
    key = new_key()
    req = {"message": "propagated error", "code": 409}
    status, _, body = invoke(conformance, f"/Failing/{key}/callTerminallyFailingCall", req)
    assert status == 409
    assert body["message"] == "propagated error"
    assert body["metadata"] == {"key": f"{key}-callee"}


def test_set_state_then_fail_persists_the_state(conformance: Cluster) -> None:
    key = new_key()
    status, _, body = invoke(conformance, f"/Counter/{key}/addThenFail", 1)
    assert status == 500
    assert key in body["message"]
    assert call(conformance, f"/Counter/{key}/get") == 1


def test_invocation_retried_until_it_succeeds(conformance: Cluster) -> None:
    key = new_key()
    assert call(conformance, f"/Failing/{key}/failingCallWithEventualSuccess") == 4


def test_terminal_error_of_a_side_effect_is_propagated(conformance: Cluster) -> None:
    status, _, body = invoke(
        conformance, f"/Failing/{new_key()}/terminallyFailingSideEffect", "failed side effect"
    )
    assert (status, body["message"]) == (422, "failed side effect")
