"""Calls and sends between handlers: results, terminal errors, ordering, fan-out."""

from __future__ import annotations

import time

from node.local import wait_until
from tests.e2e.conftest import Cluster
from tests.e2e.helpers import call


def test_a_call_returns_the_callee_result(cluster: Cluster) -> None:
    assert call(cluster, "/Caller/call_greet", "Ada") == "Hello, Ada!"


def test_a_callee_terminal_error_reaches_the_caller(cluster: Cluster) -> None:
    assert call(cluster, "/Caller/call_reject", 418) == "418:rejected"


def test_sends_to_one_key_run_in_order_and_a_delayed_send_runs_later(cluster: Cluster) -> None:
    started = time.monotonic()
    assert call(cluster, "/Caller/fan_out", "k") == "sent"
    expected = [str(i) for i in range(10)]
    wait_until(lambda: call(cluster, "/Lists/k/items") == expected, 20, "the ten sends")
    wait_until(lambda: call(cluster, "/Lists/k/items") == [*expected, "late"], 20, "the late one")
    assert time.monotonic() - started >= 0.5


def test_gather_of_many_calls(cluster: Cluster) -> None:
    assert call(cluster, "/Caller/gather_greets", 5) == [f"Hello, {i}!" for i in range(5)]


def test_a_call_raced_against_a_timer(cluster: Cluster) -> None:
    assert call(cluster, "/Caller/race", 10) == "call:rested"
    assert call(cluster, "/Caller/race", 5000) == "timeout"
