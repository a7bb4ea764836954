"""Restate's `Ingress` and `RawHandler` scenarios: headers reaching `ctx.request().headers`, raw
(bytes) input and output, idempotent invocations and sends, attach/output by idempotency key."""

from __future__ import annotations

import json
import threading

from node.local import http, wait_until
from tests.e2e.conformance.helpers import invoke, new_key, wait_held
from tests.e2e.conftest import Cluster
from tests.e2e.helpers import call, send


def test_headers_pass_through(conformance: Cluster) -> None:
    headers = {"x-my-custom-header": "x-my-custom-value", "idempotency-key": new_key()}
    echoed = call(conformance, "/TestUtilsService/echoHeaders", headers=headers)
    assert echoed["x-my-custom-header"] == "x-my-custom-value"
    assert "idempotency-key" not in echoed  # Restate keeps it out of the invocation's headers


def test_headers_of_a_call_from_a_handler(conformance: Cluster) -> None:
    echoed = call(conformance, "/TestUtilsService/callEchoHeaders", "hi")
    assert echoed["x-from-handler"] == "hi"


def test_raw_input_and_output(conformance: Cluster) -> None:
    payload = bytes(range(256)) + b"not json {"
    status, headers, body = http(
        "POST",
        conformance.ingress + "/TestUtilsService/rawEcho",
        payload,
        {"content-type": "application/octet-stream"},
    )
    assert (status, body) == (200, payload)
    assert headers["content-type"] == "application/octet-stream"


def test_raw_bytes_through_a_handler_to_handler_call(conformance: Cluster) -> None:
    assert call(conformance, "/TestUtilsService/rawReverse", "abc") == "cba"


def test_idempotent_invoke_virtual_object(conformance: Cluster) -> None:
    key, idempotency_key = new_key(), new_key()
    headers = {"idempotency-key": idempotency_key}
    first = invoke(conformance, f"/Counter/{key}/add", 2, headers)
    second = invoke(conformance, f"/Counter/{key}/add", 2, headers)
    assert first[0] == second[0] == 200
    assert first[2] == second[2] == {"oldValue": 0, "newValue": 2}
    assert first[1]["x-restate-id"] == second[1]["x-restate-id"]
    assert call(conformance, f"/Counter/{key}/get") == 2


def test_idempotent_invoke_send(conformance: Cluster) -> None:
    key, idempotency_key = new_key(), new_key()
    headers = {"idempotency-key": idempotency_key}
    status, _, first = invoke(conformance, f"/Counter/{key}/add/send", 2, headers)
    assert (status, first["status"]) == (202, "Accepted")
    status, _, second = invoke(conformance, f"/Counter/{key}/add/send", 2, headers)
    assert (status, second["status"]) == (202, "PreviouslyAccepted")
    assert first["invocationId"] == second["invocationId"]
    assert first["invocationId"].startswith("inv")
    wait_until(lambda: call(conformance, f"/Counter/{key}/get") == 2, 20, "the add")
    assert call(conformance, f"/Counter/{key}/add", 2) == {"oldValue": 2, "newValue": 4}


def test_idempotent_send_then_attach_and_output_by_idempotency_key(conformance: Cluster) -> None:
    awakeable_key, idempotency_key = new_key(), new_key()
    headers = {"idempotency-key": idempotency_key}
    status, _, sent = invoke(
        conformance,
        "/TestUtilsService/createAwakeableAndAwaitIt/send",
        {"awakeableKey": awakeable_key},
        headers,
    )
    assert (status, sent["status"]) == (202, "Accepted")
    base = f"{conformance.ingress}/restate/invocation/TestUtilsService/createAwakeableAndAwaitIt"
    by_key = f"{base}/{idempotency_key}"

    attached: list[tuple[int, bytes]] = []

    def attach() -> None:
        status, _, body = http("GET", f"{by_key}/attach", timeout=30)
        attached.append((status, body))

    attacher = threading.Thread(target=attach, daemon=True)
    attacher.start()
    assert http("GET", f"{by_key}/output")[0] == 470  # not ready yet
    wait_held(conformance, awakeable_key)
    assert not attached  # still blocked
    call(conformance, f"/AwakeableHolder/{awakeable_key}/unlock", "response")
    attacher.join(30)
    assert [(s, json.loads(b)) for s, b in attached] == [(200, "response")]
    status, _, body = http("GET", f"{by_key}/output")
    assert (status, json.loads(body)) == (200, "response")


def test_send_then_output_by_invocation_id(conformance: Cluster) -> None:
    invocation_id = send(conformance, "/TestUtilsService/echo", "hello")
    url = f"{conformance.ingress}/restate/invocation/{invocation_id}"
    status, _, body = http("GET", f"{url}/attach")
    assert (status, json.loads(body)) == (200, "hello")
    assert json.loads(http("GET", f"{url}/output")[2]) == "hello"
