"""ctx.random(), ctx.uuid() and ctx.time() give every attempt of an invocation the same values."""

from __future__ import annotations

import json

from tests.e2e.conftest import Cluster
from tests.e2e.helpers import call


def test_random_uuid_and_time_are_stable_across_a_retry(cluster: Cluster) -> None:
    result = call(cluster, "/Determinism/values", "d")
    attempts = [json.loads(line) for line in cluster.lines("d.seen")]
    assert len(attempts) == 2  # the first attempt failed in its step and was replayed
    assert attempts[0] == attempts[1] == result
    other = call(cluster, "/Determinism/values", "e")
    assert other["random"] != result["random"] and other["uuid"] != result["uuid"]
