"""TimerFired: a sleep completes, or a delayed invocation starts."""

from __future__ import annotations

from partition import completions, lifecycle, tables
from partition.context import Apply
from perdure_proto import records_pb2 as rec
from perdure_proto import storage_pb2 as st


def apply(ctx: Apply, cmd: rec.TimerFired) -> None:
    row = tables.take_timer(ctx.txn, cmd.wake_up_time_ms, cmd.invocation_id, cmd.index)
    if row is None:
        return  # fired already
    if row.kind == st.COMPLETE_ENTRY:
        completions.complete_entry(ctx, cmd.invocation_id, cmd.index, completions.VOID)
    elif row.kind == st.START_SCHEDULED:
        status = tables.get_status(ctx.txn, cmd.invocation_id)
        if status is not None and status.phase == st.SCHEDULED:
            lifecycle.admit(ctx, cmd.invocation_id, status)
