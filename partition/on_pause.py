"""PauseInvocation: retries are exhausted; the invocation waits (holding its key) for resume or
kill. Callers keep waiting. The pause also leaves a notice (tables.pause_notices) that stays until
a PauseNotified drops it: the leader pushes each notice to the pause webhook and proposes
PauseNotified once the webhook took it, so a notification survives leader changes and restarts
(at least once; node/pause_webhook.py)."""

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
    tables.put_pause_notice(ctx.txn, cmd.invocation_id, ctx.now_ms)
    ctx.actions.append(act.Ended(cmd.invocation_id))
    ctx.actions.append(paused(cmd.invocation_id, status, ctx.now_ms))


def paused(invocation_id: str, status: st.InvocationStatus, at_ms: int) -> act.Paused:
    """What the pause webhook is told of `invocation_id`, paused (with `status`) at `at_ms`."""
    return act.Paused(
        invocation_id,
        status.service,
        status.handler,
        status.key,
        status.service_type in (pb.VIRTUAL_OBJECT, pb.WORKFLOW),
        status.last_failure.code,
        status.last_failure.message,
        at_ms,
    )


def notified(ctx: Apply, cmd: rec.PauseNotified) -> None:
    for invocation_id, at_ms in zip(cmd.invocation_ids, cmd.paused_at_ms, strict=False):
        noticed = tables.get_pause_notice(ctx.txn, invocation_id)
        if noticed is not None and noticed <= at_ms:  # a later pause keeps its own notice
            tables.delete_pause_notice(ctx.txn, invocation_id)
