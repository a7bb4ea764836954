"""bench/grpc_load.py against a real gRPC ingress on a fake backend: it counts answers, judges
a sample of them and counts refusals as errors."""

from __future__ import annotations

import pytest

from bench.grpc_load import _closed_loop
from ingress.api import Completed, InvokeRequest, Outcome, Rejected
from ingress.grpc_ingress import GrpcIngress, GrpcIngressOptions
from tests.ingress.fakes import FakeIngress, handler_info, value


@pytest.mark.parametrize(
    ("outcome", "errors", "wrong"),
    [
        (Completed("inv_1a", value(b'"Hello, bench!"'), "application/json"), False, False),
        (Completed("inv_1a", value(b'"Hello, nobody!"'), "application/json"), False, True),
        (Rejected(503, "not durable"), True, False),
    ],
)
async def test_greet_over_grpc_counts_judges_and_fails_on_errors(
    outcome: Outcome, errors: bool, wrong: bool
) -> None:
    def on_invoke(request: InvokeRequest) -> Outcome:
        return outcome

    backend = FakeIngress(on_invoke=on_invoke).add(handler_info("Greeter", "greet"))
    server = GrpcIngress(backend, GrpcIngressOptions(host="127.0.0.1", port=0))
    port = await server.start()
    try:
        result = await _closed_loop(f"127.0.0.1:{port}", 2, 0.3)
    finally:
        await server.close()
    assert (result.errors > 0, result.wrong > 0) == (errors, wrong), result.samples
    assert result.requests == len(backend.invoked) - result.errors
    if not errors:
        assert result.requests > 0 and result.checked > 0
        assert 0 < result.p50_ms <= result.p99_ms
