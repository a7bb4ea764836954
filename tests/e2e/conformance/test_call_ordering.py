"""Restate's `CallOrdering`: calls and sends from one handler to one Virtual Object key run in
the order the handler issued them."""

from __future__ import annotations

import pytest

from tests.e2e.conformance.helpers import new_key, proxy_request
from tests.e2e.conftest import Cluster
from tests.e2e.helpers import call


@pytest.mark.parametrize(
    "one_way",
    # The last one is a call awaited at the end, so it orders before ListObject.clear below.
    [[True, False, False], [False, True, False], [True, True, False], [True, True, True, False]],
    ids=lambda kinds: "-".join("send" if k else "call" for k in kinds),
)
def test_ordering(conformance: Cluster, one_way: list[bool]) -> None:
    name = new_key()
    requests = [
        {
            "proxyRequest": proxy_request("ListObject", "append", str(i), key=name),
            "oneWayCall": send,
            "awaitAtTheEnd": not send,
        }
        for i, send in enumerate(one_way)
    ]
    assert call(conformance, "/Proxy/manyCalls", requests) is None
    assert call(conformance, f"/ListObject/{name}/clear") == [str(i) for i in range(len(one_way))]
