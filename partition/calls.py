"""Calls and sends between handlers: a Call/Send journal command starts (or finds) the target
invocation in the same apply, so the request is exactly-once with the caller's journal.

The target's id is derived from the caller's id and the command index (or from the idempotency
key, or the workflow key for a workflow's run), so re-applying never creates a second one.
Calls and sends from one handler to one key are admitted in journal order, hence run in order.
"""

from __future__ import annotations

from partition import actions as act
from partition import completions, ids, lifecycle, tables
from partition.context import Apply
from perdure_proto import protocol_pb2 as pb
from perdure_proto import storage_pb2 as st

WORKFLOW_ALREADY_INVOKED = "the workflow method was already invoked"


def target_id(parent_id: str, index: int, target: pb.Call | pb.Send, handler_type: int) -> str:
    key = target.key or None
    if target.idempotency_key:
        return ids.deterministic_invocation_id(
            target.service, target.key, target.handler, target.idempotency_key
        )
    if handler_type == pb.WORKFLOW_RUN:
        return ids.deterministic_invocation_id(target.service, target.key, target.handler, None)
    return ids.child_invocation_id(parent_id, index, key)


def start(ctx: Apply, parent_id: str, index: int, entry: pb.JournalEntry, is_call: bool) -> None:
    """Apply a Call or Send command at journal `index` of `parent_id` (entry not yet stored)."""
    target = entry.call if is_call else entry.send
    found = ctx.schema.handler(target.service, target.handler)
    if found is None:
        if is_call:
            entry.completion.CopyFrom(
                completions.failure(404, f"handler {target.service}/{target.handler} not found")
            )
            ctx.actions.append(act.Completion(parent_id, index, entry.completion))
        return
    row, handler = found
    child_id = target_id(parent_id, index, target, handler.ty)
    entry.completion_invocation_id = child_id
    ctx.actions.append(act.Completion(parent_id, index, pb.Result(), child_id))
    existing = tables.get_status(ctx.txn, child_id)
    if existing is not None:
        _on_existing(ctx, parent_id, index, entry, existing, handler, is_call)
        if completions.is_completed(entry):
            ctx.actions.append(act.Completion(parent_id, index, entry.completion, child_id))
        return
    status = lifecycle.new_status(
        ctx, row, handler, target.key, target.argument, target.idempotency_key, target.headers
    )
    if is_call:
        status.caller_invocation_id = parent_id
        status.caller_entry_index = index
    invoke_time = 0 if is_call else entry.send.invoke_time_ms
    if invoke_time > ctx.now_ms:
        lifecycle.schedule(ctx, child_id, status, invoke_time)
    else:
        lifecycle.admit(ctx, child_id, status)


def _on_existing(
    ctx: Apply,
    parent_id: str,
    index: int,
    entry: pb.JournalEntry,
    existing: st.InvocationStatus,
    handler: pb.HandlerSpec,
    is_call: bool,
) -> None:
    if not is_call:
        return  # an idempotent send that happened already
    if handler.ty == pb.WORKFLOW_RUN and not entry.call.idempotency_key:
        entry.completion.CopyFrom(completions.failure(409, WORKFLOW_ALREADY_INVOKED))
    elif existing.phase == st.COMPLETED:
        entry.completion.CopyFrom(existing.result)
    else:
        existing.attached_entries.add(invocation_id=parent_id, index=index)
        tables.put_status(ctx.txn, entry.completion_invocation_id, existing)
