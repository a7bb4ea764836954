"""Service and handler options: private handlers, retry policy with pause then resume,
idempotency retention, attach/output by idempotency key."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from node.local import http, wait_until
from tests.e2e.conftest import Cluster, running_cluster
from tests.e2e.helpers import JSON, admin, call, output, send, wait_output


@pytest.fixture
def fast_cleanup(tmp_path: Path) -> Iterator[Cluster]:
    """A cluster whose cleaner purges expired invocations every 200 ms."""
    with running_cluster(
        tmp_path,
        "tests.e2e.services:app",
        {"E2E_DIR": str(tmp_path)},
        {"PERDURE_CLEANUP_INTERVAL_MS": "200"},
    ) as cluster:
        yield cluster


def test_private_handlers_are_refused_at_the_ingress_but_callable_from_handlers(
    cluster: Cluster,
) -> None:
    status, _headers, body = http("POST", cluster.ingress + "/Options/private_echo", b'"x"', JSON)
    assert status == 400
    assert json.loads(body)["message"] == "the invoked service is not public"
    assert call(cluster, "/Options/public_proxy", "via a handler") == "via a handler"


def metric(c: Cluster, name: str) -> float:
    """The node's unlabelled metric `name`, read from the admin API's /metrics."""
    status, _headers, body = http("GET", c.node.admin_url + "/metrics")
    assert status == 200, body
    for line in body.decode().splitlines():
        if line.startswith(name + " "):
            return float(line.split()[1])
    raise AssertionError(f"the node exports no metric {name}")


TIMERS = "perdure_timers_pending"  # durable timers held by the node's timer service


def test_exhausted_retries_pause_until_resumed(cluster: Cluster) -> None:
    invocation_id = send(cluster, "/Options/fragile", "f")
    wait_until(lambda: len(cluster.lines("f.attempts")) == 2, 10, "two attempts")
    # Giving up (this counter) drops the attempt, so no further retry is scheduled, and proposes
    # the pause before the command below is proposed.
    wait_until(
        lambda: metric(cluster, "perdure_invoker_pauses_total") == 1, 10, "the retries to end"
    )
    assert len(cluster.lines("f.attempts")) == 2
    # Pausing a paused invocation changes nothing and answers 200 (202: it was still running).
    assert admin(cluster, "PATCH", f"/invocations/{invocation_id}/pause")[0] == 200
    assert output(cluster, invocation_id)[0] == 470
    (cluster.dir / "f.fixed").touch()
    assert admin(cluster, "PATCH", f"/invocations/{invocation_id}/resume")[0] == 200
    assert wait_output(cluster, invocation_id) == (200, "fixed")
    assert len(cluster.lines("f.attempts")) == 3  # none while paused, one after the resume


def test_admin_pause_and_resume_of_a_sleeping_invocation(cluster: Cluster) -> None:
    invocation_id = send(cluster, "/Sleepy/nap", 1500)
    wait_until(lambda: metric(cluster, TIMERS) == 1, 10, "the nap's timer to be set")
    assert admin(cluster, "PATCH", f"/invocations/{invocation_id}/pause")[0] == 202
    assert admin(cluster, "PATCH", f"/invocations/{invocation_id}/pause")[0] == 200
    # The timer fires while paused. Its record is in the log before the command below, which
    # therefore sees the invocation after the firing: still paused (202 would mean it woke up).
    wait_until(lambda: metric(cluster, TIMERS) == 0, 10, "the nap's timer to fire")
    assert admin(cluster, "PATCH", f"/invocations/{invocation_id}/pause")[0] == 200
    assert output(cluster, invocation_id)[0] == 470
    assert cluster.lines("nap1500.lines") == ["before"]
    assert (
        admin(cluster, "PATCH", f"/invocations/{invocation_id}/resume?deployment=latest")[0] == 200
    )
    assert wait_output(cluster, invocation_id) == (200, "rested")


def test_attach_and_output_by_idempotency_key(cluster: Cluster) -> None:
    key = {"idempotency-key": "idem-1"}
    status, _headers, _ = http(
        "POST", cluster.ingress + "/Greeter/greet/send", b'"Bo"', {**JSON, **key}
    )
    assert status == 202
    base = f"{cluster.ingress}/restate/invocation/Greeter/greet/idem-1"
    wait_until(lambda: http("GET", base + "/output")[0] == 200, 10, "the output")
    assert json.loads(http("GET", base + "/output")[2]) == "Hello, Bo!"
    assert json.loads(http("GET", base + "/attach")[2]) == "Hello, Bo!"
    assert http("GET", f"{cluster.ingress}/restate/invocation/Greeter/greet/nope/output")[0] == 404


def test_completed_invocations_are_purged_after_their_retention(fast_cleanup: Cluster) -> None:
    c = fast_cleanup
    status, headers, _ = http(
        "POST", c.ingress + "/Options/public_proxy", b'"x"', {**JSON, "idempotency-key": "r"}
    )
    assert status == 200
    invocation_id = headers["x-restate-id"]
    assert output(c, invocation_id)[0] == 200
    wait_until(lambda: output(c, invocation_id)[0] == 404, 10, "the retention to expire")


def test_an_attempt_silent_beyond_its_timeouts_is_aborted_and_retried(cluster: Cluster) -> None:
    started = time.monotonic()
    assert call(cluster, "/Options/stuck_once", "s") == "done"
    assert time.monotonic() - started < 4.5  # did not wait for the stuck first attempt
    assert cluster.lines("s.attempts") == ["attempt", "attempt"]
