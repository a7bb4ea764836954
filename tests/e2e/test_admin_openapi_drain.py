"""`GET /services/{name}/openapi` (each handler's ingress paths with their schemas) and a
deployment's drain status in `GET /deployments/{id}` (invocations pinned to it; whether it may
go)."""

from __future__ import annotations

import json
from pathlib import Path

from node.local import LocalDeployment, LocalNode, http, wait_until

JSON = {"content-type": "application/json"}


def test_openapi_of_a_service_and_drain_status_of_a_deployment(tmp_path: Path) -> None:
    deployment = LocalDeployment(
        tmp_path / "deployment.log",
        app="tests.e2e.services:app",
        extra_env={"E2E_DIR": str(tmp_path)},
    )
    node = LocalNode(tmp_path / "node")
    try:
        deployment.start()
        node.start()
        deployment_id = str(node.register(deployment.uri)["id"])

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
    finally:
        node.stop()
        deployment.stop()
