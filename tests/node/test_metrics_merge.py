"""One /metrics for several partition processes: counters and histograms add up, per-group
gauges keep a sample per process, and the result parses as Prometheus text."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.parser import text_string_to_metric_families

from node.metrics_merge import merge


def exposition(requests: int, timers: int, lsn: int) -> bytes:
    registry = CollectorRegistry()
    Counter("perdure_ingress_requests_total", "r", ["status"], registry=registry).labels("200").inc(
        requests
    )
    Gauge("perdure_timers_pending", "t", registry=registry).set(timers)
    Gauge("perdure_partition_applied_lsn", "l", registry=registry).set(lsn)
    h = Histogram("perdure_x_seconds", "h", buckets=(0.1, 1.0), registry=registry)
    h.observe(0.05)
    return generate_latest(registry)


def samples(text: bytes) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for fam in text_string_to_metric_families(text.decode())
        for s in fam.samples
    }


def test_processes_add_up_and_per_group_gauges_stay_apart() -> None:
    merged = samples(merge([(0, exposition(3, 1, 100)), (1, exposition(4, 2, 7))]))
    assert merged[("perdure_ingress_requests_total", (("status", "200"),))] == 7
    assert merged[("perdure_timers_pending", ())] == 3
    assert merged[("perdure_partition_applied_lsn", (("group", "0"),))] == 100
    assert merged[("perdure_partition_applied_lsn", (("group", "1"),))] == 7
    assert merged[("perdure_x_seconds_count", ())] == 2
    assert merged[("perdure_x_seconds_bucket", (("le", "0.1"),))] == 2


def test_one_process_merges_to_itself() -> None:
    alone = exposition(5, 0, 9)
    merged = samples(merge([(0, alone)]))
    assert merged[("perdure_ingress_requests_total", (("status", "200"),))] == 5
    assert merged[("perdure_partition_applied_lsn", (("group", "0"),))] == 9
