"""Awakeables: completed from the ingress (resolve / reject) and from another handler."""

from __future__ import annotations

import json

from node.local import http, wait_until
from tests.e2e.conftest import Cluster
from tests.e2e.helpers import call, send, wait_output


def _parked_id(cluster: Cluster, key: str) -> str:
    wait_until(lambda: call(cluster, f"/Holder/{key}/held") is not None, 20, "the awakeable id")
    awakeable_id: str = call(cluster, f"/Holder/{key}/held")
    assert awakeable_id.startswith("sign_1")
    return awakeable_id


def test_resolve_from_the_ingress(cluster: Cluster) -> None:
    invocation_id = send(cluster, "/Awakeables/wait_external", "a")
    awakeable_id = _parked_id(cluster, "a")
    status, _, body = http(
        "POST", f"{cluster.ingress}/restate/awakeables/{awakeable_id}/resolve", b'"LGTM"'
    )
    assert (status, body) == (202, b"")
    assert wait_output(cluster, invocation_id) == (200, "resolved:LGTM")


def test_reject_from_the_ingress(cluster: Cluster) -> None:
    invocation_id = send(cluster, "/Awakeables/wait_external", "b")
    awakeable_id = _parked_id(cluster, "b")
    status, _, _ = http(
        "POST",
        f"{cluster.ingress}/restate/a/{awakeable_id}/reject",
        b"nope",
        {"content-type": "text/plain"},
    )
    assert status == 202
    assert wait_output(cluster, invocation_id) == (200, "rejected:500:nope")


def test_round_trip_through_another_handler(cluster: Cluster) -> None:
    assert call(cluster, "/Awakeables/round_trip") == "from a handler"


def test_malformed_awakeable_id_is_refused(cluster: Cluster) -> None:
    status, _, body = http("POST", f"{cluster.ingress}/restate/awakeables/nope/resolve", b"1")
    assert status == 400
    assert json.loads(body)["code"] == 400
