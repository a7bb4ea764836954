"""Restate's `RunRetry` (and the run-once guarantee): `RunOptions(max_attempts=...)` retries a
failing `ctx.run` locally until it succeeds or the attempts are exhausted (then a TerminalError
with the last error); a run that succeeded never executes again on replays and retries."""

from __future__ import annotations

from tests.e2e.conformance.helpers import new_key
from tests.e2e.conftest import Cluster
from tests.e2e.helpers import call


def test_run_is_retried_until_it_succeeds(conformance: Cluster) -> None:
    attempts = 3
    result = call(conformance, f"/Failing/{new_key()}/sideEffectSucceedsAfterGivenAttempts", 3)
    assert result >= attempts


def test_run_is_retried_until_it_exhausts_its_attempts(conformance: Cluster) -> None:
    attempts = 3
    result = call(conformance, f"/Failing/{new_key()}/sideEffectFailsAfterGivenAttempts", 3)
    assert result["attempts"] == attempts
    assert result["code"] == 500
    assert f"Failed at attempt: {attempts}" in result["message"]


def test_a_successful_run_executes_once_across_replays_and_retries(conformance: Cluster) -> None:
    key = new_key()
    assert call(conformance, f"/Failing/{key}/sideEffectOnceThenFail") == "effect-result"
    assert conformance.lines(f"once-{key}") == ["ran"]
