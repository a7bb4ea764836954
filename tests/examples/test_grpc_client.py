"""examples/grpc_client.py against a real node serving examples/services.py."""

from __future__ import annotations

from examples.grpc_client import main
from tests.e2e.conftest import Cluster

EXAMPLE = "examples.services:app"


async def test_the_grpc_client_example_prints_what_its_docstring_promises(example: Cluster) -> None:
    lines = await main(example.node.grpc_target)
    assert lines[0] == "Greeter/greet: Hello, gRPC!"
    assert lines[1].endswith("same invocation True (SEND_STATUS_PREVIOUSLY_ACCEPTED)")
    assert lines[2:] == [
        "attached: 5",
        "bad JSON: INVALID_ARGUMENT (HTTP 400)",
        "typed: Hello, typed client!",
        "typed Counter/add: 2",
        "typed unknown service: HTTP 404",
    ]
