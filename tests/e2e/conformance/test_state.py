"""Restate's `State` scenarios: add, one-way add through a proxy, list keys and clear all."""

from __future__ import annotations

from node.local import wait_until
from tests.e2e.conformance.helpers import new_key, proxy_request
from tests.e2e.conftest import Cluster
from tests.e2e.helpers import call


def test_add(conformance: Cluster) -> None:
    key = new_key()
    assert call(conformance, f"/Counter/{key}/add", 1) == {"oldValue": 0, "newValue": 1}
    assert call(conformance, f"/Counter/{key}/add", 2) == {"oldValue": 1, "newValue": 3}


def test_proxy_one_way_add(conformance: Cluster) -> None:
    key = new_key()
    for _ in range(3):
        invocation_id = call(
            conformance, "/Proxy/oneWayCall", proxy_request("Counter", "add", 1, key=key)
        )
        assert invocation_id.startswith("inv_")
    wait_until(lambda: call(conformance, f"/Counter/{key}/get") == 3, 20, "three adds")


def test_list_state_keys_and_clear_all(conformance: Cluster) -> None:
    name = new_key()
    call(conformance, f"/MapObject/{name}/set", {"key": "my-key-0", "value": "my-value-0"})
    call(conformance, f"/MapObject/{name}/set", {"key": "my-key-1", "value": "my-value-1"})
    call(conformance, f"/MapObject/{name}1/set", {"key": "my-key-2", "value": "my-value-2"})

    cleared = call(conformance, f"/MapObject/{name}/clearAll")
    assert sorted(e["key"] for e in cleared) == ["my-key-0", "my-key-1"]
    assert {e["key"]: e["value"] for e in cleared}["my-key-1"] == "my-value-1"

    assert call(conformance, f"/MapObject/{name}/get", "my-key-0") == ""
    assert call(conformance, f"/MapObject/{name}/get", "my-key-1") == ""
    assert call(conformance, f"/MapObject/{name}/clearAll") == []
    # The other object was left untouched.
    assert call(conformance, f"/MapObject/{name}1/get", "my-key-2") == "my-value-2"
