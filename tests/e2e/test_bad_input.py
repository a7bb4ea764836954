"""Bad input gets Restate's status code and a JSON error body, and loses nothing."""

from __future__ import annotations

import json
import socket

from node.local import http
from tests.e2e.conftest import Cluster

JSON = {"content-type": "application/json"}


def assert_error(response: tuple[int, dict[str, str], bytes], code: int) -> None:
    status, headers, body = response
    assert status == code, body
    error = json.loads(body)
    assert error["code"] == code
    assert error["message"]
    assert "Traceback" not in error["message"]
    assert headers["x-restate-error-source"] == "ingress"


def test_bad_requests_get_documented_codes_and_the_server_keeps_serving(cluster: Cluster) -> None:
    url = cluster.ingress
    assert_error(http("POST", url + "/Greeter/greet", b'{"unclosed', JSON), 400)
    assert_error(http("POST", url + "/Nope/greet", b'"x"', JSON), 404)
    assert_error(http("POST", url + "/Greeter/nope", b'"x"', JSON), 404)
    assert_error(http("DELETE", url + "/Greeter/greet", b'"x"', JSON), 405)
    assert_error(http("POST", url + "/Greeter/greet", b'"x"', {"content-type": "text/xml"}), 415)
    assert oversized_status(cluster.node.ingress_port, 33 * 1024 * 1024) == 413
    status, _, body = http("POST", url + "/Greeter/greet", b'"still here"', JSON)
    assert (status, json.loads(body)) == (200, "Hello, still here!")


def oversized_status(port: int, size: int) -> int:
    """Send a body of `size` bytes; return the status the server answers (before the end)."""
    head = (
        f"POST /Greeter/greet HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\n"
        f"content-length: {size}\r\n\r\n"
    ).encode()
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(head)
        chunk = b"a" * 65536
        sent = 0
        sock.setblocking(False)
        received = b""
        while sent < size and b"\r\n" not in received:
            try:
                sent += sock.send(chunk[: size - sent])
            except (BlockingIOError, BrokenPipeError, ConnectionResetError):
                pass
            try:
                received += sock.recv(65536)
            except BlockingIOError:
                pass
        sock.setblocking(True)
        while b"\r\n" not in received:
            received += sock.recv(65536)
    return int(received.split(b" ")[1])


def test_terminal_error_reaches_the_caller_with_its_code_and_metadata(cluster: Cluster) -> None:
    status, headers, body = http("POST", cluster.ingress + "/Flaky/reject", b"418", JSON)
    assert status == 418
    assert headers["x-restate-error-source"] == "invocation"
    error = json.loads(body)
    assert error["code"] == 418
    assert error["message"] == "rejected"
    assert error["metadata"] == {"why": "test"}
