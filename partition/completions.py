"""Completing journal entries that wait for something (a timer, a call's result, an awakeable,
a promise, an attached invocation), and waking the invocation that waits for them.

A completion is stored on the entry itself (`JournalEntry.completion`), so a replay carries it;
a running attempt is told at once (a `Completion` action); a suspended invocation waiting on the
entry is resumed with a new attempt.
"""

from __future__ import annotations

from partition import actions as act
from partition import tables
from partition.context import Apply
from perdure_proto import protocol_pb2 as pb
from perdure_proto import storage_pb2 as st


def is_completed(entry: pb.JournalEntry) -> bool:
    return entry.completion.WhichOneof("result") is not None


def complete_entry(
    ctx: Apply, invocation_id: str, index: int, result: pb.Result, callee_id: str = ""
) -> None:
    status = tables.get_status(ctx.txn, invocation_id)
    if status is None or status.phase == st.COMPLETED:
        return
    entry = tables.get_journal_entry(ctx.txn, invocation_id, index)
    if entry is None or is_completed(entry):
        return  # unknown entry, or completed already: the first completion wins
    entry.completion.CopyFrom(result)
    if callee_id:
        entry.completion_invocation_id = callee_id
    tables.put_journal_entry(ctx.txn, invocation_id, index, entry)
    wake(ctx, invocation_id, status, index, result, callee_id)


def wake(
    ctx: Apply,
    invocation_id: str,
    status: st.InvocationStatus,
    index: int,
    result: pb.Result,
    callee_id: str = "",
) -> None:
    """Tell the running attempt, or resume the invocation if it was suspended waiting on it."""
    if status.phase == st.INVOKED:
        ctx.actions.append(act.Completion(invocation_id, index, result, callee_id))
    elif status.phase == st.SUSPENDED and index in status.waiting_on:
        resume(ctx, invocation_id, status)


def resume(ctx: Apply, invocation_id: str, status: st.InvocationStatus) -> None:
    status.phase = st.INVOKED
    del status.waiting_on[:]
    status.modified_at_ms = ctx.now_ms
    tables.put_status(ctx.txn, invocation_id, status)
    ctx.actions.append(act.Invoke(invocation_id, status))


def suspend(
    ctx: Apply, invocation_id: str, status: st.InvocationStatus, waiting_on: list[int]
) -> None:
    """The attempt suspended: resume at once if something it waits on completed meanwhile."""
    if not waiting_on or status.cancel_requested:
        ctx.actions.append(act.Invoke(invocation_id, status))
        return
    for index in waiting_on:
        entry = tables.get_journal_entry(ctx.txn, invocation_id, index)
        if entry is None or is_completed(entry):
            ctx.actions.append(act.Invoke(invocation_id, status))
            return
    status.phase = st.SUSPENDED
    status.waiting_on[:] = waiting_on
    tables.put_status(ctx.txn, invocation_id, status)
    ctx.actions.append(act.Ended(invocation_id))


def failure(code: int, message: str) -> pb.Result:
    return pb.Result(failure=pb.Failure(code=code, message=message))


VOID = pb.Result(void=pb.Void())
