"""The system tables' Arrow schemas: Restate's names, columns and types, in Restate's order
(`crates/storage-query-datafusion/src/*/schema.rs` of Restate 1.7, API version 4), so the
restate CLI's SQL and decoders work unchanged.

Strings are LargeUtf8, bytes LargeBinary, times UTC milliseconds (`+00:00`), durations
milliseconds, as Restate's are. Columns Perdure cannot fill yet (scopes, limit keys, traces,
vqueues) are there and null.
"""

from __future__ import annotations

import pyarrow as pa

STR = pa.large_utf8()
BIN = pa.large_binary()
TS = pa.timestamp("ms", tz="+00:00")
DUR = pa.duration("ms")
U32 = pa.uint32()
U64 = pa.uint64()
BOOL = pa.bool_()


def _schema(*columns: tuple[str, pa.DataType]) -> pa.Schema:
    return pa.schema([pa.field(name, ty) for name, ty in columns])


INVOCATION_STATUS = _schema(
    ("partition_key", U64),
    ("id", STR),
    ("vqueue_id", STR),
    ("status", STR),
    ("completion_result", STR),
    ("completion_failure", STR),
    ("target", STR),
    ("target_service_name", STR),
    ("target_service_key", STR),
    ("target_handler_name", STR),
    ("target_service_ty", STR),
    ("scope", STR),
    ("limit_key", STR),
    ("idempotency_key", STR),
    ("invoked_by", STR),
    ("invoked_by_id", STR),
    ("invoked_by_subscription_id", STR),
    ("invoked_by_service_name", STR),
    ("invoked_by_target", STR),
    ("restarted_from", STR),
    ("pinned_deployment_id", STR),
    ("pinned_service_protocol_version", U32),
    ("trace_id", STR),
    ("journal_size", U32),
    ("journal_commands_size", U32),
    ("created_at", TS),
    ("created_using_restate_version", STR),
    ("modified_at", TS),
    ("inboxed_at", TS),
    ("scheduled_at", TS),
    ("scheduled_start_at", TS),
    ("running_at", TS),
    ("completed_at", TS),
    ("completion_retention", DUR),
    ("journal_retention", DUR),
    ("suspended_waiting_for_completions", pa.list_(U32)),
    ("suspended_waiting_for_signals", pa.list_(U32)),
    ("suspended_waiting_future_json", STR),
)

INVOCATION_STATE = _schema(
    ("partition_key", U64),
    ("id", STR),
    ("in_flight", BOOL),
    ("retry_count", U64),
    ("last_start_at", TS),
    ("last_attempt_deployment_id", STR),
    ("last_attempt_server", STR),
    ("next_retry_at", TS),
    ("last_failure", STR),
    ("last_failure_error_code", STR),
    ("last_failure_related_command_index", U64),
    ("last_failure_related_command_name", STR),
    ("last_failure_related_command_type", STR),
    ("last_failure_related_entry_index", U64),
    ("last_failure_related_entry_name", STR),
    ("last_failure_related_entry_type", STR),
    ("last_awaiting_on_future_json", STR),
)

JOURNAL = _schema(
    ("partition_key", U64),
    ("id", STR),
    ("index", U32),
    ("entry_type", STR),
    ("name", STR),
    ("completed", BOOL),
    ("invoked_id", STR),
    ("invoked_target", STR),
    ("sleep_wakeup_at", TS),
    ("promise_name", STR),
    ("raw", BIN),
    ("raw_length", U64),
    ("version", U32),
    ("entry_json", STR),
    ("entry_lite_json", STR),
    ("appended_at", TS),
)

STATE = _schema(
    ("partition_key", U64),
    ("scope", STR),
    ("service_name", STR),
    ("service_key", STR),
    ("key", STR),
    ("key_length", U64),
    ("value_utf8", STR),
    ("value", BIN),
    ("value_length", U64),
)

INBOX = _schema(
    ("partition_key", U64),
    ("service_name", STR),
    ("service_key", STR),
    ("id", STR),
    ("sequence_number", U64),
    ("created_at", TS),
)

PROMISE = _schema(
    ("partition_key", U64),
    ("scope", STR),
    ("service_name", STR),
    ("service_key", STR),
    ("key", STR),
    ("completed", BOOL),
    ("completion_success_value", BIN),
    ("completion_success_value_utf8", STR),
    ("completion_failure", STR),
)

KEYED_SERVICE_STATUS = _schema(
    ("partition_key", U64),
    ("service_name", STR),
    ("service_key", STR),
    ("invocation_id", STR),
)

SERVICE = _schema(
    ("name", STR),
    ("revision", U64),
    ("public", BOOL),
    ("ty", STR),
    ("deployment_id", STR),
)

DEPLOYMENT = _schema(
    ("id", STR),
    ("ty", STR),
    ("endpoint", STR),
    ("created_at", TS),
    ("min_service_protocol_version", U32),
    ("max_service_protocol_version", U32),
    ("services", pa.list_(STR)),
)

# Tables whose rows live in the partitions (every group contributes its own), and those every
# group holds a full copy of (registrations are applied by every group).
PARTITIONED: dict[str, pa.Schema] = {
    "sys_invocation_status": INVOCATION_STATUS,
    "sys_invocation_state": INVOCATION_STATE,
    "sys_journal": JOURNAL,
    "state": STATE,
    "sys_inbox": INBOX,
    "sys_promise": PROMISE,
    "sys_keyed_service_status": KEYED_SERVICE_STATUS,
}
GLOBAL: dict[str, pa.Schema] = {"sys_service": SERVICE, "sys_deployment": DEPLOYMENT}
TABLES: dict[str, pa.Schema] = {**PARTITIONED, **GLOBAL}

# Restate's view over the status and the invoker's state (its SYS_INVOCATION_VIEW, verbatim).
SYS_INVOCATION_VIEW = """SELECT
  ss.id, ss.vqueue_id, ss.target, ss.target_service_name, ss.target_service_key,
  ss.target_handler_name, ss.target_service_ty, ss.scope, ss.limit_key, ss.idempotency_key,
  ss.invoked_by, ss.invoked_by_service_name, ss.invoked_by_id, ss.invoked_by_subscription_id,
  ss.invoked_by_target, ss.restarted_from, ss.pinned_deployment_id,
  ss.pinned_service_protocol_version, ss.trace_id, ss.journal_size, ss.journal_commands_size,
  ss.created_at, ss.created_using_restate_version, ss.modified_at, ss.inboxed_at,
  ss.scheduled_at, ss.scheduled_start_at, ss.running_at, ss.completed_at,
  ss.completion_retention, ss.journal_retention, ss.suspended_waiting_for_completions,
  ss.suspended_waiting_for_signals, ss.suspended_waiting_future_json,
  sis.retry_count, sis.last_start_at, sis.next_retry_at, sis.last_attempt_deployment_id,
  sis.last_attempt_server, sis.last_failure, sis.last_failure_error_code,
  sis.last_failure_related_entry_index, sis.last_failure_related_entry_name,
  sis.last_failure_related_entry_type, sis.last_failure_related_command_index,
  sis.last_failure_related_command_name, sis.last_failure_related_command_type,
  sis.last_awaiting_on_future_json,
  arrow_cast(CASE
      WHEN ss.status = 'inboxed' THEN 'pending'
      WHEN ss.status = 'scheduled' THEN 'scheduled'
      WHEN ss.status = 'completed' THEN 'completed'
      WHEN ss.status = 'suspended' THEN 'suspended'
      WHEN ss.status = 'paused' THEN 'paused'
      WHEN sis.in_flight THEN 'running'
      WHEN ss.status = 'invoked' AND retry_count > 0 THEN 'backing-off'
      ELSE 'ready' END, 'LargeUtf8') AS status,
  ss.completion_result, ss.completion_failure
FROM sys_invocation_state sis RIGHT JOIN sys_invocation_status ss ON ss.id = sis.id"""
VIEWS: dict[str, str] = {"sys_invocation": SYS_INVOCATION_VIEW}
