"""Durable promises of a workflow, scoped to its key: get (wait), peek, and complete once."""

from __future__ import annotations

from partition import actions as act
from partition import completions, tables
from partition.context import Apply
from perdure_proto import protocol_pb2 as pb
from perdure_proto import storage_pb2 as st

ALREADY_COMPLETED = "promise was already completed"


def apply(
    ctx: Apply, invocation_id: str, status: st.InvocationStatus, index: int, entry: pb.JournalEntry
) -> None:
    kind = entry.WhichOneof("command")
    if status.service_type != pb.WORKFLOW:
        entry.completion.CopyFrom(
            completions.failure(400, "durable promises exist only in workflows")
        )
        ctx.actions.append(act.Completion(invocation_id, index, entry.completion))
        return
    name = getattr(entry, kind or "").key
    row = tables.get_promise(ctx.txn, status.service, status.key, name)
    if kind == "get_promise":
        if not row.completed:
            row.waiters.add(invocation_id=invocation_id, index=index)
            tables.put_promise(ctx.txn, status.service, status.key, name, row)
            return
        entry.completion.CopyFrom(row.result)
    elif kind == "peek_promise":
        entry.completion.CopyFrom(row.result if row.completed else completions.VOID)
    elif row.completed:
        entry.completion.CopyFrom(completions.failure(409, ALREADY_COMPLETED))
    else:
        row.completed = True
        row.result.CopyFrom(entry.complete_promise.result)
        waiters = list(row.waiters)
        del row.waiters[:]
        tables.put_promise(ctx.txn, status.service, status.key, name, row)
        entry.completion.CopyFrom(completions.VOID)
        for waiter in waiters:
            completions.complete_entry(ctx, waiter.invocation_id, waiter.index, row.result)
    ctx.actions.append(act.Completion(invocation_id, index, entry.completion))
