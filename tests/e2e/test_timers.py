"""Durable timers: ctx.sleep and delayed sends survive restarts and fire once."""

from __future__ import annotations

import json
import time

from node.local import http, wait_until
from tests.e2e.conftest import Cluster
from tests.e2e.helpers import JSON, call, send, wait_output


def test_sleep_suspends_and_resumes(cluster: Cluster) -> None:
    started = time.monotonic()
    assert call(cluster, "/Sleepy/nap", 300) == "rested"
    assert time.monotonic() - started >= 0.3
    assert cluster.lines("nap300.lines") == ["before", "after"]


def test_a_10s_sleep_survives_kill9_of_server_and_deployment(cluster: Cluster) -> None:
    sent = time.monotonic()
    invocation_id = send(cluster, "/Sleepy/nap", 10_000)
    wait_until(lambda: cluster.lines("nap10000.lines") == ["before"], 10, "the nap to start")
    # Kill well into the sleep, so that "10 s after it started" and "10 s after the restart"
    # are seconds apart.
    time.sleep(max(0.0, 4 - (time.monotonic() - sent)))
    cluster.node.kill9()
    cluster.deployment.kill9()
    cluster.deployment.start()
    cluster.node.start()
    restarted = time.monotonic() - sent
    assert wait_output(cluster, invocation_id, timeout=30) == (200, "rested")
    elapsed = time.monotonic() - sent
    # The wake-up time was fixed when the sleep began: it ends ~10 s after the send (or at the
    # restart, had that taken longer), not 10 s after the restart (>= restarted + 10).
    assert elapsed >= 9.9, elapsed
    assert elapsed < max(10, restarted) + restarted / 2, (elapsed, restarted)
    assert cluster.lines("nap10000.lines") == ["before", "after"]


def test_delayed_send_from_the_ingress_starts_later(cluster: Cluster) -> None:
    started = time.monotonic()
    status, _, body = http(
        "POST", cluster.ingress + "/Lists/delayed/append/send?delay=1s", b'"x"', JSON
    )
    accepted = json.loads(body)
    assert status == 202 and accepted["status"] == "Accepted"
    assert accepted["executionTime"].endswith("Z")  # RFC 3339, when it will start
    invocation_id = accepted["invocationId"]
    assert wait_output(cluster, invocation_id) == (200, ["x"])
    assert time.monotonic() - started >= 1.0
