"""`GET /services/{name}/openapi` (each handler's ingress paths with their schemas) and a
deployment's drain status in `GET /deployments/{id}` (invocations pinned to it; whether it may
go)."""

from __future__ import annotations

import json

from node.local import http, wait_until
from tests.e2e.conftest import Cluster

JSON = {"content-type": "application/json"}


def test_openapi_of_a_service_and_drain_status_of_a_deployment(cluster: Cluster) -> None:
    node = cluster.node
    (deployment,) = json.loads(http("GET", node.admin_url + "/deployments")[2])["deployments"]
    deployment_id = str(deployment["id"])

    status, _, body = http("GET", node.admin_url + "/services/Counter/openapi")
    assert status == 200
    doc = json.loads(body)
    assert doc["openapi"].startswith("3.1") and doc["info"]["title"] == "Counter"
    add = doc["paths"]["/Counter/{key}/add"]["post"]
    assert add["parameters"][0]["name"] == "key"
    assert "application/json" in add["requestBody"]["content"]
    assert "/Counter/{key}/add/send" in doc["paths"]
    greet = json.loads(http("GET", node.admin_url + "/services/Greeter/openapi")[2])
    assert "/Greeter/greet" in greet["paths"]
    assert http("GET", node.admin_url + "/services/Nope/openapi")[0] == 404

    detail = json.loads(http("GET", node.admin_url + f"/deployments/{deployment_id}")[2])
    assert detail["pinned_invocations"] == 0 and detail["drained"] is False  # serves latest
    status, _, _ = http("POST", node.ingress_url + "/Sleepy/forever/send", b'"drain"', JSON)
    assert status == 202

    def pinned() -> bool:
        doc = json.loads(http("GET", node.admin_url + f"/deployments/{deployment_id}")[2])
        return bool(doc["pinned_invocations"] == 1)

    wait_until(pinned, 20, "the sleeping invocation to be pinned to the deployment")
