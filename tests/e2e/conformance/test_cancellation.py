"""Restate's `Cancellation`: cancelling an invocation (admin `PATCH /invocations/{id}/cancel` or
`ctx.cancel_invocation` from a handler) raises `TerminalError("cancelled", 409)` at its next
await, first in the calls it waits on (also one still queued in a key's inbox); handlers can run
compensations; callers see 409; the Virtual Object keys involved are free again."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from node.local import http, wait_until
from tests.e2e.conformance.helpers import new_key, wait_done, wait_held
from tests.e2e.conftest import Cluster
from tests.e2e.helpers import admin, call, send, wait_output

OPERATIONS = ["CALL", "SLEEP", "AWAKEABLE"]


def _cancel_from_admin(c: Cluster, invocation_id: str) -> None:
    status, _ = admin(c, "PATCH", f"/invocations/{invocation_id}/cancel")
    assert status in (200, 202), status


def _cancel_from_context(c: Cluster, invocation_id: str) -> None:
    call(c, "/TestUtilsService/cancelInvocation", invocation_id)


@pytest.mark.parametrize("cancel", [_cancel_from_admin, _cancel_from_context], ids=["admin", "ctx"])
@pytest.mark.parametrize("op", OPERATIONS)
def test_cancel_blocked_invocation(
    conformance: Cluster, op: str, cancel: Callable[[Cluster, str], None]
) -> None:
    key = new_key()
    invocation_id = send(conformance, f"/CancelTestRunner/{key}/startTest", op)
    # The blocking service parked an awakeable; unlocking it makes it block on `op`.
    wait_held(conformance, f"cancel-{key}")
    call(conformance, f"/AwakeableHolder/cancel-{key}/unlock", "go")
    if op == "CALL":  # cancel once the inner call is queued (the race is tested below)
        wait_until(lambda: _inner_call_status(conformance, key) == 470, 10, "the inner call")

    cancel(conformance, invocation_id)

    # The runner saw the 409 of its call, recorded it and completed normally.
    assert wait_done(conformance, invocation_id) == (200, b"")
    assert call(conformance, f"/CancelTestRunner/{key}/verifyTest") is True
    # The blocking service's key is free again (for CALL: the queued inner call was cancelled).
    unlocked = send(conformance, f"/CancelTestBlockingService/{key}/isUnlocked")
    assert wait_done(conformance, unlocked, timeout=10) == (200, b"")


def _inner_call_status(c: Cluster, key: str) -> int:
    url = f"{c.ingress}/restate/invocation/CancelTestBlockingService/{key}/block/inner/output"
    return http("GET", url)[0]


def test_cancel_while_the_handler_is_issuing_a_call(conformance: Cluster) -> None:
    """The cancellation is applied while the blocking handler does synchronous work, just before
    it calls itself on its own key. That call is part of the cancelled tree: it must be
    cancelled too, so the key ends up free (Restate's SDK cancels the calls it made when it
    observes the cancellation)."""
    key = new_key()
    invocation_id = send(conformance, f"/CancelTestRunner/{key}/startTest", "WORK_THEN_CALL")
    wait_held(conformance, f"cancel-{key}")
    call(conformance, f"/AwakeableHolder/cancel-{key}/unlock", "go")
    wait_until(lambda: conformance.lines(f"{key}.working") == ["yes"], 10, "the work to start")

    _cancel_from_admin(conformance, invocation_id)

    assert wait_done(conformance, invocation_id) == (200, b"")
    assert call(conformance, f"/CancelTestRunner/{key}/verifyTest") is True
    unlocked = send(conformance, f"/CancelTestBlockingService/{key}/isUnlocked")
    assert wait_done(conformance, unlocked, timeout=5) == (200, b"")


def test_cancelled_handler_runs_its_compensation_and_ends_with_409(conformance: Cluster) -> None:
    name = new_key()
    invocation_id = send(conformance, "/Compensating/bookTrip", name)
    wait_until(lambda: conformance.lines(f"{name}.trip") == ["booked"], 10, "the booking")

    _cancel_from_admin(conformance, invocation_id)

    status, body = wait_output(conformance, invocation_id)
    assert (status, body["code"], body["message"]) == (409, 409, "cancelled")
    assert conformance.lines(f"{name}.trip") == ["booked", "compensated"]


def test_caller_sees_409_when_its_callee_is_cancelled(conformance: Cluster) -> None:
    name = new_key()
    caller_id = send(conformance, "/Compensating/callBookTrip", name)
    wait_until(lambda: conformance.lines(f"{name}.trip") == ["booked"], 10, "the booking")

    # Cancelling the caller cancels its pending call first; the callee compensates.
    _cancel_from_admin(conformance, caller_id)

    assert wait_output(conformance, caller_id) == (200, "409:cancelled")
    assert conformance.lines(f"{name}.trip") == ["booked", "compensated"]


def test_cancel_a_delayed_send_before_it_starts(conformance: Cluster) -> None:
    key = new_key()
    invocation_id = send(conformance, f"/Counter/{key}/add", 1, query="?delay=30s")
    _cancel_from_admin(conformance, invocation_id)
    status, body = wait_output(conformance, invocation_id)
    assert (status, body["message"]) == (409, "cancelled")
    assert call(conformance, f"/Counter/{key}/get") == 0
