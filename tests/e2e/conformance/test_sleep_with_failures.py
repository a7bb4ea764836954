"""Restate's `Sleep` / `SleepWithFailures`: a durable sleep keeps its wake-up time across a
failed attempt and its retry, and across kill -9 (or SIGTERM) of the deployment mid-sleep."""

from __future__ import annotations

import time
from collections.abc import Callable

import pytest

from node.local import wait_until
from tests.e2e.conformance.helpers import wait_done
from tests.e2e.conftest import Cluster
from tests.e2e.helpers import call, send


def test_sleep_keeps_its_wake_up_time_across_a_failed_attempt(conformance: Cluster) -> None:
    """The timer starts, then the attempt fails halfway through it; the retry replays the same
    timer: done `millis` after the start, not `millis` after the retry."""
    millis = 2000
    started = time.monotonic()
    assert call(conformance, "/Sleeping/sleepAcrossFailure", millis) == "slept"
    elapsed = time.monotonic() - started
    assert millis / 1000 <= elapsed < 1.45 * millis / 1000, elapsed


def test_a_retry_after_a_sleep_does_not_sleep_again(conformance: Cluster) -> None:
    millis = 1000
    started = time.monotonic()
    assert call(conformance, "/Sleeping/failAfterSleep", millis) == "slept"
    elapsed = time.monotonic() - started
    assert millis / 1000 <= elapsed < 1.8 * millis / 1000, elapsed


def _kill9(c: Cluster) -> None:
    c.deployment.kill9()


def _terminate(c: Cluster) -> None:
    c.deployment.stop()


@pytest.mark.parametrize("stop", [_kill9, _terminate], ids=["kill9", "terminate"])
def test_sleep_survives_the_deployment_stopping_mid_sleep(
    conformance: Cluster, stop: Callable[[Cluster], None]
) -> None:
    millis = 4000
    started = time.monotonic()
    invocation_id = send(conformance, "/TestUtilsService/sleepConcurrently", [millis, millis // 2])
    marker = f"{invocation_id}.sleep"
    wait_until(lambda: conformance.lines(marker) == ["started"], 10, "the sleep to start")
    stop(conformance)
    conformance.deployment.start()
    assert wait_done(conformance, invocation_id, timeout=30) == (200, b"")
    elapsed = time.monotonic() - started
    assert millis / 1000 <= elapsed < millis / 1000 + 5, elapsed
    assert conformance.lines(marker) == ["started", "woke"]
