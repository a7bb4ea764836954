"""The node's Prometheus metrics (names prefixed `perdure_`, units in the name)."""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

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
    "perdure_invocations_completed_total", "Invocations that completed (success or failure)"
)
UNREACHABLE_DEPLOYMENTS = Gauge(
    "perdure_invoker_unreachable_deployments",
    "Connections to deployments whose last connection attempt failed (none succeeded since)",
)
