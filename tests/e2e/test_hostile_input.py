"""The three findings of issue 11 against a real node, and its HTTP hygiene as configured:
an absurd delay is a 400 naming it and nothing is journaled; random bytes get 400 then close;
input of the wrong type (or none for a handler that needs one) ends at once with a terminal 400;
a stalled request gets 408 within the configured timeout; connections beyond the cap get 503."""

from __future__ import annotations

import json
import socket
import time
from pathlib import Path

from node.local import http, wait_until
from tests.e2e.conftest import Cluster, running_cluster

JSON = {"content-type": "application/json"}


def invocations(cluster: Cluster) -> int:
    query = json.dumps({"query": "SELECT count(*) AS n FROM sys_invocation"}).encode()
    status, _, body = http(
        "POST", cluster.node.admin_url + "/query", query, {**JSON, "accept": "application/json"}
    )
    assert status == 200, body
    return int(json.loads(body)["rows"][0]["n"])


def raw(port: int, data: bytes, *, half_close: bool = True, timeout: float = 10) -> bytes:
    """Send `data` and return everything the node writes until it closes the connection."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
        sock.sendall(data)
        if half_close:
            sock.shutdown(socket.SHUT_WR)
        received = b""
        while chunk := sock.recv(65536):
            received += chunk
    return received


def test_absurd_delay_is_400_naming_it_and_nothing_is_journaled(cluster: Cluster) -> None:
    before = invocations(cluster)
    for delay in ("99999999999999d", "9" * 400 + "s", "-5s", "P" + "9" * 30 + "D"):
        status, headers, body = http(
            "POST", f"{cluster.ingress}/Counter/k/add/send?delay={delay}", b"1", JSON
        )
        assert status == 400, body
        assert "delay" in json.loads(body)["message"]
        assert headers["x-restate-error-source"] == "ingress"
    assert invocations(cluster) == before
    assert not any("Traceback" in line for line in cluster.lines("data.log"))
    status, _, body = http("POST", f"{cluster.ingress}/Counter/k/add/send?delay=10ms", b"1", JSON)
    assert status == 202, body  # a sane delay still works


def test_random_bytes_on_the_ingress_port_get_400_then_close(cluster: Cluster) -> None:
    garbage = bytes(range(256)) * 4
    answer = raw(cluster.node.ingress_port, garbage)
    assert answer.startswith(b"HTTP/1.1 400 "), answer[:100]
    assert b"connection: close" in answer.lower()
    status, _, _ = http("GET", cluster.ingress + "/restate/health")
    assert status == 200


def test_missing_or_mistyped_input_ends_at_once_with_400_and_frees_the_key(
    cluster: Cluster,
) -> None:
    for body in (b'"five"', b"", b"null", b"1.5"):
        status, _, answer = http("POST", cluster.ingress + "/Counter/frank/add", body, JSON)
        assert status == 400, answer
        assert "Unable to parse an input argument" in json.loads(answer)["message"]
    status, _, answer = http("POST", cluster.ingress + "/Counter/frank/add", b"2", JSON)
    assert (status, json.loads(answer)) == (200, 2)  # nothing retried, the key not blocked


def test_hygiene_settings_reach_the_node(tmp_path: Path) -> None:
    env = {"PERDURE_HTTP_HEADER_TIMEOUT_MS": "500", "PERDURE_HTTP_MAX_CONNECTIONS": "4"}
    with running_cluster(tmp_path, "examples.services:app", node_env=env) as cluster:
        port = cluster.node.ingress_port
        t0 = time.monotonic()
        answer = raw(
            port, b"GET /restate/health HTTP/1.1\r\nhost: x\r\nx-slow: a", half_close=False
        )
        assert answer.startswith(b"HTTP/1.1 408 "), answer[:100]
        assert time.monotonic() - t0 < 5
        held = [socket.create_connection(("127.0.0.1", port)) for _ in range(4)]
        try:
            time.sleep(0.2)  # accepted by the node
            answer = raw(port, b"")
            assert answer.startswith(b"HTTP/1.1 503 "), answer[:100]
            assert b"retry-after: 1" in answer.lower()
        finally:
            for sock in held:
                sock.close()
        wait_until(
            lambda: http("GET", cluster.ingress + "/restate/health")[0] == 200,
            10,
            "the node to serve again below its connection cap",
        )
