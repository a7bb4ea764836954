"""`make bench` reads how many invocations have completed from the node's real counter."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, generate_latest

from bench import flows
from node import metrics


def test_completed_sums_the_labelled_counter_the_node_exports() -> None:
    registry = CollectorRegistry()
    completed = Counter(
        metrics.INVOCATIONS_COMPLETED._name,
        metrics.INVOCATIONS_COMPLETED._documentation,
        metrics.INVOCATIONS_COMPLETED._labelnames,
        registry=registry,
    )
    assert flows.completed_in(generate_latest(registry).decode()) == 0.0
    completed.labels("succeeded", "Counter", "add").inc(3)
    completed.labels("failed", "Greeter", "greet").inc(2)
    exposition = generate_latest(registry).decode()
    assert "perdure_invocations_completed_created" in exposition  # not counted
    assert flows.completed_in(exposition) == 5.0
