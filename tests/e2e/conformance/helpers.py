"""Helpers of the conformance tests, on top of tests.e2e.helpers."""

from __future__ import annotations

import json
import uuid
from typing import Any

from node.local import http, wait_until
from tests.e2e.conftest import Cluster
from tests.e2e.helpers import JSON, call, output

__all__ = ["invoke", "new_key", "proxy_request", "wait_done", "wait_held"]


def new_key() -> str:
    """A fresh Virtual Object / workflow key, so tests sharing a node do not interfere."""
    return uuid.uuid4().hex


def invoke(
    c: Cluster,
    path: str,
    body: Any = None,
    headers: dict[str, str] | None = None,
    method: str = "POST",
) -> tuple[int, dict[str, str], Any]:
    """One ingress request with a JSON body: (status, headers, decoded JSON body or None)."""
    data = b"" if body is None else json.dumps(body).encode()
    status, out_headers, out = http(method, c.ingress + path, data, {**JSON, **(headers or {})})
    return status, out_headers, (json.loads(out) if out else None)


def proxy_request(
    service: str,
    handler: str,
    body: Any,
    key: str | None = None,
    delay_millis: int | None = None,
    idempotency_key: str | None = None,
) -> dict[str, Any]:
    """The argument of Proxy.call / Proxy.oneWayCall: what to call, with a JSON body as bytes."""
    return {
        "serviceName": service,
        "virtualObjectKey": key,
        "handlerName": handler,
        "message": list(json.dumps(body).encode()),
        "delayMillis": delay_millis,
        "idempotencyKey": idempotency_key,
    }


def wait_held(c: Cluster, key: str, timeout: float = 20) -> None:
    """Wait until AwakeableHolder/<key> holds an awakeable id."""
    wait_until(
        lambda: call(c, f"/AwakeableHolder/{key}/hasAwakeable") is True,
        timeout,
        f"an awakeable to be parked in AwakeableHolder/{key}",
    )


def wait_done(c: Cluster, invocation_id: str, timeout: float = 20) -> tuple[int, bytes]:
    """Wait until an invocation has ended; return its output (status, raw body)."""
    wait_until(lambda: output(c, invocation_id)[0] != 470, timeout, f"{invocation_id} to end")
    return output(c, invocation_id)
