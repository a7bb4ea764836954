"""Restate's `NonDeterminismErrors`: a handler whose context operations differ on replay fails
its attempt with a journal mismatch (code 570) naming the journal index and both operations.

Every await below suspends, so the first attempt records one branch and every replay takes the
other; the handlers allow two attempts and then kill the invocation, which ends with the 570.
"""

from __future__ import annotations

import pytest

from tests.e2e.conformance.helpers import invoke
from tests.e2e.conftest import Cluster
from tests.e2e.helpers import call

CASES = {
    "eitherSleepOrCall": ("Sleep(", "Call(target='Counter/abc/get')"),
    "callDifferentMethod": ("Call(target='Counter/abc/get')", "Call(target='Counter/abc/reset')"),
    "backgroundInvokeWithDifferentTargets": (
        "Send(target='Counter/abc/get')",
        "Send(target='Counter/abc/reset')",
    ),
    "setDifferentKey": ("SetState(key='a')", "SetState(key='b')"),
}


@pytest.mark.parametrize("handler", list(CASES))
def test_journal_mismatch_fails_with_570(conformance: Cluster, handler: str) -> None:
    # The counter exists before: the handler's own increment must never happen.
    assert call(conformance, f"/Counter/{handler}/add", 1) == {"oldValue": 0, "newValue": 1}

    status, _, body = invoke(conformance, f"/NonDeterministic/{handler}/{handler}")

    assert status == 570, body
    recorded, attempted = CASES[handler]
    message = body["message"]
    assert "index 1" in message, message
    assert f"recorded {recorded}" in message, message
    assert f"attempted {attempted}" in message, message
    assert call(conformance, f"/Counter/{handler}/get") == 1
