"""Restate's `ServiceToServiceCommunication`: a call, a one-way call, delayed sends, and
idempotent calls and sends made from a handler."""

from __future__ import annotations

import json
import time

from node.local import wait_until
from tests.e2e.conformance.helpers import new_key, proxy_request
from tests.e2e.conftest import Cluster
from tests.e2e.helpers import call


def test_regular_call(conformance: Cluster) -> None:
    out = call(
        conformance, "/Proxy/call", proxy_request("TestUtilsService", "uppercaseEcho", "ping")
    )
    assert json.loads(bytes(out)) == "PING"


def test_one_way_call(conformance: Cluster) -> None:
    key = new_key()
    call(conformance, "/Proxy/oneWayCall", proxy_request("Counter", "add", 1, key=key))
    wait_until(lambda: call(conformance, f"/Counter/{key}/get") == 1, 20, "the one-way add")


def test_one_way_calls_with_delay_wait_before_queueing(conformance: Cluster) -> None:
    """Ten delayed sends to one key: all run about `delay` after they were sent (the delay is
    served before the key's queue, not one after the other)."""
    key = new_key()
    delay_ms = 1500
    started = time.monotonic()
    for _ in range(10):
        request = proxy_request("Counter", "add", 1, key=key, delay_millis=delay_ms)
        call(conformance, "/Proxy/oneWayCall", request)
    assert call(conformance, f"/Counter/{key}/get") == 0
    wait_until(lambda: call(conformance, f"/Counter/{key}/get") == 10, 20, "the delayed adds")
    elapsed = time.monotonic() - started
    assert delay_ms / 1000 <= elapsed < 8, elapsed


def test_idempotent_calls_from_handlers_run_once(conformance: Cluster) -> None:
    """Two different proxy invocations call Counter.add with one idempotency key: one add."""
    key, idempotency_key = new_key(), new_key()
    request = proxy_request("Counter", "add", 2, key=key, idempotency_key=idempotency_key)
    first = json.loads(bytes(call(conformance, "/Proxy/call", request)))
    second = json.loads(bytes(call(conformance, "/Proxy/call", request)))
    assert first == second == {"oldValue": 0, "newValue": 2}
    assert call(conformance, f"/Counter/{key}/get") == 2


def test_idempotent_sends_from_handlers_run_once(conformance: Cluster) -> None:
    key, idempotency_key = new_key(), new_key()
    request = proxy_request("Counter", "add", 2, key=key, idempotency_key=idempotency_key)
    first = call(conformance, "/Proxy/oneWayCall", request)
    second = call(conformance, "/Proxy/oneWayCall", request)
    assert first == second  # the same invocation
    wait_until(lambda: call(conformance, f"/Counter/{key}/get") == 2, 20, "the add")
    # Without an idempotency key the next add runs at once.
    assert call(conformance, f"/Counter/{key}/add", 2) == {"oldValue": 2, "newValue": 4}
