"""Invoke: a new invocation from the ingress (call or send), or a repeat of an existing one.

A repeat (same idempotency key, or a workflow's run on the same key) addresses the existing
invocation: a send answers PreviouslyAccepted, a call gets the stored result or waits for it;
a second call of a workflow's run is refused with 409, as Restate does.
"""

from __future__ import annotations

from partition import actions as act
from partition import lifecycle, tables
from partition.context import Apply
from perdure_proto import protocol_pb2 as pb
from perdure_proto import records_pb2 as rec
from perdure_proto import storage_pb2 as st

WORKFLOW_ALREADY_INVOKED = "the workflow method was already invoked"


def apply(ctx: Apply, cmd: rec.Invoke) -> None:
    request_id = cmd.reply.request_id
    found = ctx.schema.handler(cmd.service, cmd.handler)
    if found is None:
        ctx.actions.append(
            act.ReplyRejected(
                request_id,
                cmd.invocation_id,
                404,
                f"handler {cmd.service}/{cmd.handler} is not registered",
            )
        )
        return
    row, handler = found
    existing = tables.get_status(ctx.txn, cmd.invocation_id)
    if existing is not None:
        _on_repeat(ctx, cmd, handler, existing)
        return
    status = lifecycle.new_status(
        ctx, row, handler, cmd.key, cmd.input, cmd.idempotency_key, cmd.headers
    )
    if cmd.mode == rec.SEND:
        ctx.actions.append(act.ReplyAccepted(request_id, cmd.invocation_id, previously=False))
    elif request_id:
        status.waiting_requests.append(request_id)
    if cmd.execution_time_ms > ctx.now_ms:
        lifecycle.schedule(ctx, cmd.invocation_id, status, cmd.execution_time_ms)
    else:
        lifecycle.admit(ctx, cmd.invocation_id, status)


def _on_repeat(
    ctx: Apply, cmd: rec.Invoke, handler: pb.HandlerSpec, status: st.InvocationStatus
) -> None:
    request_id = cmd.reply.request_id
    if cmd.mode == rec.SEND:
        ctx.actions.append(act.ReplyAccepted(request_id, cmd.invocation_id, previously=True))
        return
    if handler.ty == pb.WORKFLOW_RUN and not cmd.idempotency_key:
        ctx.actions.append(
            act.ReplyRejected(request_id, cmd.invocation_id, 409, WORKFLOW_ALREADY_INVOKED)
        )
        return
    if status.phase == st.COMPLETED:
        lifecycle.reply_stored(ctx, request_id, cmd.invocation_id, status)
        return
    if request_id:
        status.waiting_requests.append(request_id)
        tables.put_status(ctx.txn, cmd.invocation_id, status)
