"""PurgeExpired: forget completed invocations whose retention ended (from the leader's
cleaner); re-checked here, so a stale proposal purges nothing it should not."""

from __future__ import annotations

from partition import invocation_control, tables
from partition.context import Apply
from perdure_proto import records_pb2 as rec
from perdure_proto import storage_pb2 as st


def apply(ctx: Apply, cmd: rec.PurgeExpired) -> None:
    for invocation_id in cmd.invocation_ids:
        status = tables.get_status(ctx.txn, invocation_id)
        expired = status is not None and status.expires_at_ms <= ctx.now_ms
        if status is not None and status.phase == st.COMPLETED and expired:
            invocation_control.forget(ctx, invocation_id, status)
