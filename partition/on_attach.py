"""Attach: wait for an invocation's result (answered now if it has completed)."""

from __future__ import annotations

from partition import actions as act
from partition import lifecycle, tables
from partition.context import Apply
from perdure_proto import records_pb2 as rec
from perdure_proto import storage_pb2 as st

NOT_FOUND = "invocation not found"


def apply(ctx: Apply, cmd: rec.Attach) -> None:
    request_id = cmd.reply.request_id
    status = tables.get_status(ctx.txn, cmd.invocation_id)
    if status is None:
        ctx.actions.append(act.ReplyRejected(request_id, cmd.invocation_id, 404, NOT_FOUND))
    elif status.phase == st.COMPLETED:
        lifecycle.reply_stored(ctx, request_id, cmd.invocation_id, status)
    else:
        status.waiting_requests.append(request_id)
        tables.put_status(ctx.txn, cmd.invocation_id, status)
