"""PauseInvocation: retries are exhausted; the invocation waits (holding its key) for resume or
kill. Callers keep waiting."""

from __future__ import annotations

from partition import actions as act
from partition import tables
from partition.context import Apply
from perdure_proto import protocol_pb2 as pb
from perdure_proto import records_pb2 as rec
from perdure_proto import storage_pb2 as st


def apply(ctx: Apply, cmd: rec.PauseInvocation) -> None:
    status = tables.get_status(ctx.txn, cmd.invocation_id)
    if status is None or status.phase != st.INVOKED:
        return
    status.phase = st.PAUSED
    status.last_failure.CopyFrom(cmd.last_failure)
    status.modified_at_ms = ctx.now_ms
    tables.put_status(ctx.txn, cmd.invocation_id, status)
    ctx.actions.append(act.Ended(cmd.invocation_id))
    ctx.actions.append(
        act.Paused(
            cmd.invocation_id,
            status.service,
            status.handler,
            status.key,
            status.service_type in (pb.VIRTUAL_OBJECT, pb.WORKFLOW),
            cmd.last_failure.code,
            cmd.last_failure.message,
            ctx.now_ms,
        )
    )
