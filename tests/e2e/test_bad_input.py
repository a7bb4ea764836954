"""Bad input gets Restate's status code and a JSON error body, and loses nothing."""

from __future__ import annotations

import json
import select
import socket
import time

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


def oversized_status(port: int, size: int, timeout: float = 10) -> int:
    """Send a body of `size` bytes; return the status the server answers (before the end).

    Fails at once if the server closes or resets the connection before its status line, and
    after `timeout` seconds if it neither answers nor closes."""
    request = f"POST /Greeter/greet with a {size}-byte body"
    head = (
        f"POST /Greeter/greet HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\n"
        f"content-length: {size}\r\n\r\n"
    ).encode()
    chunk = b"a" * 65536
    deadline = time.monotonic() + timeout
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
        sock.sendall(head)
        sock.setblocking(False)
        sent = 0
        received = b""
        while b"\r\n" not in received:
            remaining = deadline - time.monotonic()
            assert remaining > 0, f"no response to {request} within {timeout} s: {received!r}"
            # Keep sending until the server answers (it may stop reading first: then only read).
            writers = [sock] if sent < size else []
            readable, writable, _ = select.select([sock], writers, [], remaining)
            if writable:
                try:
                    sent += sock.send(chunk[: size - sent])
                except (BrokenPipeError, ConnectionResetError):
                    sent = size  # the server stopped reading; its answer may still be there
            if readable:
                try:
                    data = sock.recv(65536)
                except ConnectionResetError:
                    data = b""
                assert data, (
                    f"server closed the connection without a response to {request}: {received!r}"
                )
                received += data
    return int(received.split(b" ")[1])


def test_terminal_error_reaches_the_caller_with_its_code_and_metadata(cluster: Cluster) -> None:
    status, headers, body = http("POST", cluster.ingress + "/Flaky/reject", b"418", JSON)
    assert status == 418
    assert headers["x-restate-error-source"] == "invocation"
    error = json.loads(body)
    assert error["code"] == 418
    assert error["message"] == "rejected"
    assert error["metadata"] == {"why": "test"}
