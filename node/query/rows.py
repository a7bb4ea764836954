"""The system tables' rows, built from one consistent read of a partition store.

`build(name, view, attempts, where)` returns the rows of table `name` as an Arrow table. `where`
holds what the query's filters pushed down to this table allow, column -> allowed values (see
node/query/plan.py): it only narrows what is read (an id becomes point reads, a service and key
a prefix scan) and may let through rows it does not match, since the query applies its filters
to whatever is returned. Runs in a worker thread: it reads only the view and its arguments.
"""

from __future__ import annotations

import itertools
import struct
from collections.abc import Callable, Iterable, Mapping
from typing import Any

import pyarrow as pa

from node.attempts import AttemptInfo
from node.query import schema
from partition import ids, keys, tables
from partition.read_view import ReadView
from perdure_proto import protocol_pb2 as pb
from perdure_proto import storage_pb2 as st

Where = Mapping[str, frozenset[str]]
Columns = frozenset[str] | None  # the columns a query reads (None: maybe all)
Row = dict[str, Any]
Status = tuple[str, st.InvocationStatus]  # an invocation's id and its status row

PHASES = {
    st.INBOXED: "inboxed",
    st.SCHEDULED: "scheduled",
    st.INVOKED: "invoked",
    st.SUSPENDED: "suspended",
    st.PAUSED: "paused",
    st.COMPLETED: "completed",
}
SERVICE_TYPES = {
    pb.SERVICE: "service",
    pb.VIRTUAL_OBJECT: "virtual_object",
    pb.WORKFLOW: "workflow",
}
# Journal commands by Restate's (journal v1) entry type names, which the CLI renders.
ENTRY_TYPES = {
    "get_state": "GetState",
    "get_state_keys": "GetStateKeys",
    "set_state": "SetState",
    "clear_state": "ClearState",
    "clear_all_state": "ClearAllState",
    "run": "Run",
    "output": "Output",
    "sleep": "Sleep",
    "call": "Call",
    "send": "OneWayCall",
    "awakeable": "Awakeable",
    "complete_awakeable": "CompleteAwakeable",
    "get_promise": "GetPromise",
    "peek_promise": "PeekPromise",
    "complete_promise": "CompletePromise",
    "attach_invocation": "AttachInvocation",
    "cancel_invocation": "CancelInvocation",
    "cancelled": "Cancelled",
}
# Commands completed later by a completion (the others are complete once journaled).
_COMPLETABLE = frozenset({"sleep", "call", "awakeable", "get_promise", "attach_invocation"})


def build(
    name: str,
    view: ReadView,
    attempts: Iterable[AttemptInfo],
    where: Where,
    check: Callable[[], None] = lambda: None,
    columns: Columns = None,
    memo: Memo | None = None,
    limit: int | None = None,
) -> pa.Table:
    """Table `name`'s rows in this store; `check` is called now and then and raises to stop.
    `columns`: the only columns the query reads (None: maybe all); the others are left null, and
    a status table read for its ids alone (e.g. `count(*)`) is built without decoding a row.
    `memo`: one per query, shared by its builds (`Memo`). `limit`: the query takes at most this
    many rows of the table, whichever (the statuses stop there; other tables are small)."""
    if name == "sys_invocation_status":
        if columns is not None and columns <= {"id"} and "target_service_name" not in where:
            return _table(name, _status_ids(view, where, check)[:limit], columns)
        built = _invocation_status(view, attempts, where, check, columns, memo, limit)
        return _table(name, built, columns)
    if name == "sys_invocation_state":
        return _table(name, _invocation_state(view, attempts, where, check, memo), columns)
    return _table(name, _BUILDERS[name](view, attempts, where, check), columns)


class Memo:
    """What building one table of a query found that another table of the same query needs:
    the paused invocations met while building the statuses, per narrowing (the invoker's state
    side of `sys_invocation` would otherwise parse every status again to find them)."""

    def __init__(self) -> None:
        self.paused: dict[frozenset[tuple[str, frozenset[str]]], list[Status]] = {}

    @staticmethod
    def key(where: Where) -> frozenset[tuple[str, frozenset[str]]]:
        return frozenset(where.items())


def _table(name: str, rows: list[Row], columns: Columns) -> pa.Table:
    """`rows` as table `name`: only `columns` converted (the costly part), the others null."""
    full = schema.TABLES[name]
    if columns is None:
        return pa.Table.from_pylist(rows, schema=full)
    read = pa.Table.from_pylist(rows, schema=pa.schema([f for f in full if f.name in columns]))
    return pa.Table.from_arrays(  # (a count reads no column: the rows are there all the same)
        [read.column(f.name) if f.name in columns else pa.nulls(len(rows), f.type) for f in full],
        schema=full,
    )


def _status_ids(view: ReadView, where: Where, check: Callable[[], None]) -> list[Row]:
    """The ids of the invocations `_statuses` would yield, from the keys alone (a scan reads
    no value: a count over 100,000 invocations took 0.7 s reading them)."""
    start = len(keys.STATUS)
    if "id" in where:
        row_keys: Iterable[bytes] = (row_key for row_key, _ in _status_rows(view, where))
    else:
        row_keys = (k for prefix in _status_prefixes(where) for k in view.scan_keys(prefix))
    out = []
    for n, row_key in enumerate(row_keys):
        if n % 1024 == 0:
            check()
        out.append({"id": row_key[start:].decode()})
    return out


# ------------------------------------------------------------------------------- invocations


def _statuses(
    view: ReadView, where: Where, check: Callable[[], None]
) -> Iterable[tuple[str, st.InvocationStatus]]:
    services = where.get("target_service_name")
    start = len(keys.STATUS)
    for n, (row_key, raw) in enumerate(_status_rows(view, where)):
        if n % 1024 == 0:
            check()
        status = _parse_status(raw)
        if services is None or status.service in services:
            yield row_key[start:].decode(), status


def _status_rows(view: ReadView, where: Where) -> Iterable[tuple[bytes, bytes]]:
    """The status rows `where` narrows the read to: ids are point reads; a Virtual Object's or
    workflow's key is one prefix scan (its partition key starts its invocations' ids); statuses
    that leave out `completed` are the unfinished invocations' index (partition/tables.py),
    once the store has it whole; else every status."""
    wanted = where.get("id")
    object_keys = where.get("target_service_key")
    statuses = where.get("status")
    if (
        wanted is None
        and (object_keys is None or "" in object_keys)
        and statuses is not None
        and "completed" not in statuses
        and view.get(keys.ACTIVE_UNFINISHED) is not None
    ):
        phases = {phase for phase, name in PHASES.items() if name in statuses}
        wanted = frozenset(i for i, phase in tables.unfinished_invocations(view) if phase in phases)
    if wanted is not None:
        for invocation_id in sorted(wanted):
            row_key = keys.status(invocation_id)
            raw = view.get(row_key)
            if raw is not None:
                yield row_key, raw
        return
    for prefix in _status_prefixes(where):
        yield from view.scan(prefix)


def _status_prefixes(where: Where) -> list[bytes]:
    """The status key prefixes holding every invocation `where` allows (but point reads)."""
    object_keys = where.get("target_service_key")
    if object_keys is not None and "" not in object_keys:
        pkeys = {ids.invocation_id_prefix(ids.partition_key(k)) for k in object_keys}
        return [keys.status(prefix) for prefix in sorted(pkeys)]
    return [keys.STATUS]


def _parse_status(raw: bytes) -> st.InvocationStatus:
    status = st.InvocationStatus()
    status.ParseFromString(raw)
    return status


def _target(service: str, key: str, handler: str, ty: int) -> str:
    return f"{service}/{handler}" if ty == pb.SERVICE or not ty else f"{service}/{key}/{handler}"


def _failure_text(failure: pb.Failure) -> str:
    return f"[{failure.code}] {failure.message}"


def _invocation_status(
    view: ReadView,
    attempts: Iterable[AttemptInfo],
    where: Where,
    check: Callable[[], None],
    columns: Columns = None,
    memo: Memo | None = None,
    limit: int | None = None,
) -> list[Row]:
    out = []
    paused: list[Status] = []
    callers: dict[str, st.InvocationStatus | None] = {}
    # The costly columns, computed only when read: parsing the id again, formatting the
    # target, reading the caller's status.
    pkeys = columns is None or "partition_key" in columns
    targets = columns is None or "target" in columns
    by_whom = columns is None or bool(columns & {"invoked_by_service_name", "invoked_by_target"})
    for invocation_id, s in itertools.islice(_statuses(view, where, check), limit):
        keyed = s.service_type in (pb.VIRTUAL_OBJECT, pb.WORKFLOW)
        completed = s.phase == st.COMPLETED
        row: Row = {
            "partition_key": _pkey(invocation_id) if pkeys else None,
            "id": invocation_id,
            "status": PHASES.get(s.phase, "invoked"),
            "target": _target(s.service, s.key, s.handler, s.service_type) if targets else None,
            "target_service_name": s.service,
            "target_service_key": s.key if keyed else None,
            "target_handler_name": s.handler,
            "target_service_ty": SERVICE_TYPES.get(s.service_type, "service"),
            "idempotency_key": s.idempotency_key or None,
            "invoked_by": "service" if s.caller_invocation_id else "ingress",
            "pinned_deployment_id": s.deployment_id or None,
            "restarted_from": s.restarted_from or None,
            "journal_size": s.journal_length,
            "journal_commands_size": s.journal_length,
            "created_at": s.created_at_ms or None,
            "modified_at": s.modified_at_ms or None,
        }
        if s.caller_invocation_id:
            caller_id = s.caller_invocation_id
            row["invoked_by_id"] = caller_id
            if by_whom and caller_id not in callers:
                callers[caller_id] = tables.get_status(view, caller_id)
            caller = callers.get(caller_id)
            if caller is not None:
                row["invoked_by_service_name"] = caller.service
                row["invoked_by_target"] = _target(
                    caller.service, caller.key, caller.handler, caller.service_type
                )
        if s.phase == st.SCHEDULED and s.execution_time_ms:
            row["scheduled_at"] = s.created_at_ms or None
            row["scheduled_start_at"] = s.execution_time_ms
        if s.phase == st.INBOXED:
            row["inboxed_at"] = s.modified_at_ms or None
        if s.phase == st.SUSPENDED:
            row["suspended_waiting_for_completions"] = list(s.waiting_on)
        if completed:
            row["completed_at"] = s.completed_at_ms or None
            if s.expires_at_ms and s.completed_at_ms:
                row["completion_retention"] = max(0, s.expires_at_ms - s.completed_at_ms)
            if s.result.WhichOneof("result") == "failure":
                row["completion_result"] = "failure"
                row["completion_failure"] = _failure_text(s.result.failure)
            else:
                row["completion_result"] = "success"
        elif s.phase == st.PAUSED:
            paused.append((invocation_id, s))
        out.append(row)
    if memo is not None and limit is None:  # (a part of the statuses tells nothing of the rest)
        memo.paused[Memo.key(where)] = paused
    return out


def _invocation_state(
    view: ReadView,
    attempts: Iterable[AttemptInfo],
    where: Where,
    check: Callable[[], None],
    memo: Memo | None = None,
) -> list[Row]:
    """The leader's invoker's view of what it runs or retries; a paused invocation (no longer
    the invoker's) keeps the failure that paused it in its status row."""
    wanted = where.get("id")
    out: list[Row] = []
    seen: set[str] = set()
    for a in attempts:
        if wanted is not None and a.invocation_id not in wanted:
            continue
        seen.add(a.invocation_id)
        row: Row = {
            "partition_key": _pkey(a.invocation_id),
            "id": a.invocation_id,
            "in_flight": a.in_flight,
            "retry_count": a.attempts,
            "last_start_at": a.last_start_ms or None,
            "last_attempt_deployment_id": a.deployment_id or None,
            "next_retry_at": a.next_retry_ms or None,
        }
        if a.last_failure_code:
            row["last_failure"] = a.last_failure
            row["last_failure_error_code"] = str(a.last_failure_code)
        out.append(row)
    met: Iterable[Status] | None = memo.paused.get(Memo.key(where)) if memo is not None else None
    if met is None:  # only paused statuses: through the index of unfinished invocations
        allowed = where.get("status", frozenset({"paused"})) & {"paused"}
        met = _statuses(view, {**where, "status": allowed}, check)
    for invocation_id, s in met:
        if s.phase != st.PAUSED or invocation_id in seen or not s.HasField("last_failure"):
            continue
        out.append(
            {
                "partition_key": _pkey(invocation_id),
                "id": invocation_id,
                "in_flight": False,
                "retry_count": 0,
                "last_attempt_deployment_id": s.deployment_id or None,
                "last_failure": s.last_failure.message,
                "last_failure_error_code": str(s.last_failure.code),
            }
        )
    return out


def _journal(
    view: ReadView, attempts: Iterable[AttemptInfo], where: Where, check: Callable[[], None]
) -> list[Row]:
    wanted = where.get("id")
    if wanted is not None:
        scans = [view.scan(keys.journal_prefix(i)) for i in sorted(wanted)]
    else:
        scans = [view.scan(keys.JOURNAL)]
    out = []
    for rows in scans:
        for n, (row_key, raw) in enumerate(rows):
            if n % 1024 == 0:
                check()
            (invocation_id,), rest = keys.split_parts(row_key[len(keys.JOURNAL) :], 1)
            entry = pb.JournalEntry()
            entry.ParseFromString(raw)
            out.append(_journal_row(invocation_id, struct.unpack(">I", rest)[0], entry, raw))
    return out


def _journal_row(invocation_id: str, index: int, entry: pb.JournalEntry, raw: bytes) -> Row:
    kind = entry.WhichOneof("command") or ""
    row: Row = {
        "partition_key": _pkey(invocation_id),
        "id": invocation_id,
        "index": index,
        "entry_type": ENTRY_TYPES.get(kind, kind or "Unknown"),
        "name": entry.name or None,
        "completed": entry.HasField("completion") if kind in _COMPLETABLE else True,
        "raw": raw,
        "raw_length": len(raw),
        "version": 1,
    }
    if kind in ("call", "send"):
        target = entry.call if kind == "call" else entry.send
        ty = pb.VIRTUAL_OBJECT if target.key else pb.SERVICE
        row["invoked_target"] = _target(target.service, target.key, target.handler, ty)
        row["invoked_id"] = entry.completion_invocation_id or None
    elif kind == "sleep":
        row["sleep_wakeup_at"] = entry.sleep.wake_up_time_ms
    elif kind == "get_promise":
        row["promise_name"] = entry.get_promise.key
    elif kind == "peek_promise":
        row["promise_name"] = entry.peek_promise.key
    elif kind == "complete_promise":
        row["promise_name"] = entry.complete_promise.key
    return row


# ------------------------------------------------------------------------------- keyed tables


def _keyed_scans(view: ReadView, table: bytes, where: Where) -> list[list[tuple[bytes, bytes]]]:
    """A keyed table's rows, narrowed to the services (and keys) `where` allows."""
    services, service_keys = where.get("service_name"), where.get("service_key")
    if services is None:
        return [view.scan(table)]
    if service_keys is None:
        return [view.scan(keys.keyed_prefix(table, s)) for s in sorted(services)]
    return [
        view.scan(keys.keyed_prefix(table, s, k)) for s in sorted(services) for k in service_keys
    ]


def _state(
    view: ReadView, attempts: Iterable[AttemptInfo], where: Where, check: Callable[[], None]
) -> list[Row]:
    out = []
    for rows in _keyed_scans(view, keys.STATE, where):
        for n, (row_key, value) in enumerate(rows):
            if n % 1024 == 0:
                check()
            (service, key), name = keys.split_parts(row_key[len(keys.STATE) :], 2)
            out.append(
                {
                    "partition_key": ids.partition_key(key),
                    "service_name": service,
                    "service_key": key,
                    "key": name.decode(),
                    "key_length": len(name),
                    "value_utf8": _utf8(value),
                    "value": value,
                    "value_length": len(value),
                }
            )
    return out


def _inbox(
    view: ReadView, attempts: Iterable[AttemptInfo], where: Where, check: Callable[[], None]
) -> list[Row]:
    out = []
    for rows in _keyed_scans(view, keys.INBOX, where):
        for row_key, value in rows:
            if value.startswith(tables.QUEUED_MUTATION):
                continue  # a state edit waiting for the key, not an invocation
            (service, key), seq = keys.split_parts(row_key[len(keys.INBOX) :], 2)
            invocation_id = value.decode()
            status = tables.get_status(view, invocation_id)
            out.append(
                {
                    "partition_key": ids.partition_key(key),
                    "service_name": service,
                    "service_key": key,
                    "id": invocation_id,
                    "sequence_number": struct.unpack(">Q", seq)[0],
                    "created_at": (status.created_at_ms or None) if status is not None else None,
                }
            )
    return out


def _promise(
    view: ReadView, attempts: Iterable[AttemptInfo], where: Where, check: Callable[[], None]
) -> list[Row]:
    out = []
    for rows in _keyed_scans(view, keys.PROMISE, where):
        for row_key, raw in rows:
            (service, key), name = keys.split_parts(row_key[len(keys.PROMISE) :], 2)
            promise = st.PromiseRow()
            promise.ParseFromString(raw)
            row: Row = {
                "partition_key": ids.partition_key(key),
                "service_name": service,
                "service_key": key,
                "key": name.decode(),
                "completed": promise.completed,
            }
            result = promise.result.WhichOneof("result")
            if promise.completed and result == "value":
                row["completion_success_value"] = promise.result.value
                row["completion_success_value_utf8"] = _utf8(promise.result.value)
            elif promise.completed and result == "failure":
                row["completion_failure"] = _failure_text(promise.result.failure)
            out.append(row)
    return out


def _keyed_service_status(
    view: ReadView, attempts: Iterable[AttemptInfo], where: Where, check: Callable[[], None]
) -> list[Row]:
    out = []
    for rows in _keyed_scans(view, keys.LOCK, where):
        for row_key, raw in rows:
            (service, key), _ = keys.split_parts(row_key[len(keys.LOCK) :], 2)
            lock = st.KeyLock()
            lock.ParseFromString(raw)
            if lock.invocation_id:
                out.append(
                    {
                        "partition_key": ids.partition_key(key),
                        "service_name": service,
                        "service_key": key,
                        "invocation_id": lock.invocation_id,
                    }
                )
    return out


# ------------------------------------------------------------------------------- registry


def _service(
    view: ReadView, attempts: Iterable[AttemptInfo], where: Where, check: Callable[[], None]
) -> list[Row]:
    return [
        {
            "name": row.spec.name,
            "revision": row.revision,
            "public": not row.spec.options.ingress_private,
            "ty": SERVICE_TYPES.get(row.spec.ty, "service"),
            "deployment_id": row.deployment_id,
        }
        for row in tables.all_services(view)
    ]


def _deployment(
    view: ReadView, attempts: Iterable[AttemptInfo], where: Where, check: Callable[[], None]
) -> list[Row]:
    return [
        {
            "id": row.id,
            "ty": "http",
            "endpoint": row.uri,
            "created_at": row.created_at_ms or None,
            "min_service_protocol_version": row.manifest.min_protocol_version,
            "max_service_protocol_version": row.manifest.max_protocol_version,
            "services": [s.name for s in row.manifest.services],
        }
        for row in tables.all_deployments(view)
    ]


def _pkey(invocation_id: str) -> int | None:
    try:
        return ids.invocation_partition_key(invocation_id)
    except ids.Error:
        return None


def _utf8(value: bytes) -> str | None:
    try:
        return value.decode()
    except UnicodeDecodeError:
        return None


_BUILDERS: dict[
    str, Callable[[ReadView, Iterable[AttemptInfo], Where, Callable[[], None]], list[Row]]
] = {
    "sys_journal": _journal,
    "state": _state,
    "sys_inbox": _inbox,
    "sys_promise": _promise,
    "sys_keyed_service_status": _keyed_service_status,
    "sys_service": _service,
    "sys_deployment": _deployment,
}
