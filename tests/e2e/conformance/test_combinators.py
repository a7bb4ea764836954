"""Restate's `Combinators`: an awakeable raced against a timeout with `select`, the first
successful of several futures (awakeables, failing runs, calls) with `wait_completed`, and
`gather`."""

from __future__ import annotations

import threading
import time
from typing import Any

from node.local import http
from tests.e2e.conformance.helpers import invoke, new_key, wait_held
from tests.e2e.conftest import Cluster
from tests.e2e.helpers import call, send, wait_output


def test_awakeable_or_timeout_times_out(conformance: Cluster) -> None:
    started = time.monotonic()
    assert call(conformance, f"/Combinators/{new_key()}/awakeableOrTimeout", 100) == "timeout"
    assert time.monotonic() - started >= 0.1


def test_awakeable_or_timeout_resolved_in_time(conformance: Cluster) -> None:
    key = new_key()
    invocation_id = send(conformance, f"/Combinators/{key}/awakeableOrTimeout", 30_000)
    wait_held(conformance, key)
    call(conformance, f"/AwakeableHolder/{key}/unlock", "in time")
    assert wait_output(conformance, invocation_id) == (200, "awakeable:in time")


def test_await_awakeable_or_timeout_fails_with_the_timeout(conformance: Cluster) -> None:
    status, _, body = invoke(conformance, f"/Combinators/{new_key()}/awaitAwakeableOrTimeout", 100)
    assert status == 408
    assert "await-timeout" in body["message"]


def test_first_successful_awakeable(conformance: Cluster) -> None:
    key = new_key()
    result: list[Any] = []

    def run() -> None:
        result.append(invoke(conformance, f"/Combinators/{key}/firstSuccessfulAwakeable"))

    runner = threading.Thread(target=run, daemon=True)
    runner.start()
    for i in range(3):
        wait_held(conformance, f"{key}-{i}")
    # Rejecting awakeable 2 completes nothing; resolving awakeable 1 wins.
    awk2 = call(conformance, f"/AwakeableHolder/{key}-2/getAwakeable")
    status, _, _ = http("POST", f"{conformance.ingress}/restate/awakeables/{awk2}/reject", b"fail")
    assert status == 202
    call(conformance, f"/AwakeableHolder/{key}-1/unlock", "awk1-result")
    runner.join(30)
    assert [(s, body) for s, _, body in result] == [(200, "awk1-result")]


def test_first_successful_call(conformance: Cluster) -> None:
    started = time.monotonic()
    assert call(conformance, f"/Combinators/{new_key()}/firstSuccessfulCall") == "fast"
    assert time.monotonic() - started < 10


def test_gather_returns_results_in_argument_order(conformance: Cluster) -> None:
    values = ["a", "b", "c", "d"]
    assert call(conformance, f"/Combinators/{new_key()}/gatherCalls", values) == values
