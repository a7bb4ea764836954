"""Small helpers for end-to-end tests: JSON calls, sends and waiting for outputs."""

from __future__ import annotations

import json
from typing import Any

from node.local import http, wait_until
from tests.e2e.conftest import Cluster

JSON = {"content-type": "application/json"}


def call(c: Cluster, path: str, body: Any = None, headers: dict[str, str] | None = None) -> Any:
    data = b"" if body is None else json.dumps(body).encode()
    status, _, out = http("POST", c.ingress + path, data, {**JSON, **(headers or {})})
    assert status == 200, (status, out)
    return json.loads(out) if out else None


def send(c: Cluster, path: str, body: Any = None, query: str = "") -> str:
    data = b"" if body is None else json.dumps(body).encode()
    status, _, out = http("POST", c.ingress + path + "/send" + query, data, JSON)
    assert status == 202, (status, out)
    invocation_id: str = json.loads(out)["invocationId"]
    return invocation_id


def output(c: Cluster, invocation_id: str) -> tuple[int, bytes]:
    status, _, body = http("GET", f"{c.ingress}/restate/invocation/{invocation_id}/output")
    return status, body


def wait_output(c: Cluster, invocation_id: str, timeout: float = 30) -> tuple[int, Any]:
    wait_until(lambda: output(c, invocation_id)[0] != 470, timeout, f"{invocation_id} to end")
    status, body = output(c, invocation_id)
    return status, json.loads(body)


def admin(c: Cluster, method: str, path: str) -> tuple[int, Any]:
    status, _, body = http(method, c.node.admin_url + path)
    return status, (json.loads(body) if body else None)


def query_rows(admin_url: str, sql: str, timeout: float = 30.0) -> list[dict[str, Any]]:
    """The JSON rows `POST /query` answers for `sql` on the admin API at `admin_url` (a 200)."""
    status, _, out = http(
        "POST",
        admin_url + "/query",
        json.dumps({"query": sql}).encode(),
        {**JSON, "accept": "application/json"},
        timeout=timeout,
    )
    assert status == 200, out
    rows: list[dict[str, Any]] = json.loads(out)["rows"]
    return rows
