"""The node's Prometheus metrics (names prefixed `perdure_`, units in the name)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from prometheus_client import REGISTRY, Counter, Gauge, Histogram
from prometheus_client.core import GaugeMetricFamily

INGRESS_REQUESTS = Counter(
    "perdure_ingress_requests_total", "Ingress requests answered, by HTTP status", ["status"]
)
INGRESS_DURATION = Histogram(
    "perdure_ingress_request_duration_seconds",
    "Time from a complete ingress request to its response",
    buckets=(0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1.0, 5.0, 30.0),
)
TIMERS_PENDING = Gauge("perdure_timers_pending", "Durable timers held by the timer service")
INVOKER_ATTEMPTS = Counter("perdure_invoker_attempts_total", "Invocation attempts started")
INVOKER_FAILURES = Counter("perdure_invoker_attempt_failures_total", "Invocation attempts failed")
INVOKER_PAUSES = Counter("perdure_invoker_pauses_total", "Invocations paused after retries")
INVOCATIONS_IN_FLIGHT = Gauge("perdure_invoker_in_flight_invocations", "Attempts running now")
PARTITION_APPLIED = Counter("perdure_partition_records_applied_total", "Log records applied")
PARTITION_APPLY_SECONDS = Histogram(
    "perdure_partition_apply_duration_seconds",
    "Time to apply one batch of log records (one store write)",
    buckets=(0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.05),
)
APPLIED_LSN = Gauge("perdure_partition_applied_lsn", "Last applied log position")
INVOCATIONS_COMPLETED = Counter(
    "perdure_invocations_completed_total",
    "Invocations that ended for good, by outcome (succeeded, failed, killed) and handler",
    ["outcome", "service", "handler"],
)
INGRESS_INVOCATIONS = Counter(
    "perdure_ingress_invocations_total",
    "Invocation requests the ingress answered, by registered handler and HTTP status",
    ["service", "handler", "status"],
)
INVOKER_RETRIES = Counter(
    "perdure_invoker_retries_total", "Failed attempts that will be retried after a delay"
)
INVOCATIONS_KILLED = Counter("perdure_invocations_killed_total", "Invocations killed")
JOURNAL_ENTRIES = Counter(
    "perdure_journal_entries_appended_total",
    "Journal entries deployments sent, appended to the log by the invoker",
)
LOG_COMMIT_SECONDS = Histogram(
    "perdure_log_commit_duration_seconds",
    "From a batch of records handed to Raft until it is committed (durable on a majority)",
    buckets=(0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1.0, 5.0),
)
LOG_RECORDS_APPENDED = Counter(
    "perdure_log_records_appended_total", "Records this member appended to its group's log"
)
SNAPSHOTS_SENT = Counter("perdure_snapshots_sent_total", "Snapshots sent to members behind")
SNAPSHOTS_INSTALLED = Counter(
    "perdure_snapshots_installed_total", "Snapshots installed by this node's members"
)
INVOKER_STREAMS = Gauge("perdure_invoker_streams", "Open streams to deployments")
QUERY_SECONDS = Histogram(
    "perdure_query_duration_seconds",
    "SQL introspection queries (POST /query), from receipt to the encoded answer",
    buckets=(0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1.0, 5.0, 30.0),
)


class LabelCache:
    """Children of a labelled metric, bound once per label values (no label lookup per use
    after the first)."""

    def __init__(self, metric: Counter) -> None:
        self._metric = metric
        self._children: dict[tuple[str, ...], Any] = {}

    def inc(self, *values: str) -> None:
        child = self._children.get(values)
        if child is None:
            child = self._children[values] = self._metric.labels(*values)
        child.inc()


UNREACHABLE_DEPLOYMENTS = Gauge(
    "perdure_invoker_unreachable_deployments",
    "Connections to deployments whose last connection attempt failed (none succeeded since)",
)


# Figures of each Raft group this process runs, read when scraped (`group` label).
GROUP_SERIES = {
    "perdure_raft_term": "Raft term of this node's member of the group",
    "perdure_raft_leader": "1 while this node's member leads the group (its leader unit runs)",
    "perdure_raft_commit_index": "Raft index of the newest entry known committed",
    "perdure_raft_applied_lag_entries": "Committed Raft entries this member has not applied yet",
    "perdure_raft_members": "Members in the group's Raft configuration",
    "perdure_store_size_bytes": "Size of the group's partition store (SST files and memtables)",
}


class _Groups:
    """A collector: each registered group's figures, computed at scrape time."""

    def __init__(self) -> None:
        self._sources: dict[int, Callable[[], dict[str, float]]] = {}

    def watch(self, group: int, figures: Callable[[], dict[str, float]]) -> None:
        self._sources[group] = figures

    def forget(self, group: int, figures: Callable[[], dict[str, float]]) -> None:
        if self._sources.get(group) is figures:
            del self._sources[group]

    def collect(self) -> Iterator[GaugeMetricFamily]:
        families = {
            name: GaugeMetricFamily(name, doc, labels=["group"])
            for name, doc in GROUP_SERIES.items()
        }
        for group, figures in sorted(self._sources.items()):
            try:
                values = figures()
            except Exception:
                continue
            for name, value in values.items():
                families[name].add_metric([str(group)], value)
        yield from families.values()


GROUPS = _Groups()
REGISTRY.register(GROUPS)
