"""Calls and sends between handlers. The caller's Call/Send journal command sends the target a
`StartInvocation` message (partition.messages) in the same write as the journal entry, so the
request is exactly-once with the caller's journal; on the target's partition (the same one, at
the end of the record, or another, through the outbox) `receive` starts or finds the target.

The target's id is derived from the caller's id and the command index (or from the idempotency
key, or the workflow key for a workflow's run), so a re-applied or re-delivered request never
creates a second one. Calls and sends from one handler to one key arrive in journal order, hence
are admitted and run in order.
"""

from __future__ import annotations

from partition import actions as act
from partition import completions, ids, lifecycle, messages, tables
from partition.context import Apply
from perdure_proto import protocol_pb2 as pb
from perdure_proto import records_pb2 as rec
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
    """Apply a Call or Send command at journal `index` of `parent_id` (entry not yet stored):
    derive the target's id, note it on the entry, and send the target a StartInvocation."""
    target = entry.call if is_call else entry.send
    found = ctx.schema.handler(target.service, target.handler)
    if found is None:
        if is_call:
            entry.completion.CopyFrom(
                completions.failure(404, f"handler {target.service}/{target.handler} not found")
            )
            ctx.actions.append(act.Completion(parent_id, index, entry.completion))
        return
    child_id = target_id(parent_id, index, target, found[1].ty)
    entry.completion_invocation_id = child_id
    ctx.actions.append(act.Completion(parent_id, index, pb.Result(), child_id))
    message = rec.PartitionMessage()  # filled in place: constructors copy submessages
    m = message.start_invocation
    m.invocation_id = child_id
    m.service = target.service
    m.handler = target.handler
    m.key = target.key
    m.argument = target.argument
    m.headers.extend(target.headers)
    m.idempotency_key = target.idempotency_key
    if is_call:
        m.caller_invocation_id = parent_id
        m.caller_entry_index = index
    else:
        m.invoke_time_ms = entry.send.invoke_time_ms
    messages.send(ctx, child_id, message)


def receive(ctx: Apply, m: rec.StartInvocation) -> None:
    """Start (or find) the target of a call or send, on the target's partition."""
    found = ctx.schema.handler(m.service, m.handler)
    if found is None:  # the caller's partition knew it; this one does not (yet)
        if m.caller_invocation_id:
            failure = completions.failure(404, f"handler {m.service}/{m.handler} not found")
            messages.complete_entry(
                ctx, m.caller_invocation_id, m.caller_entry_index, failure, m.invocation_id
            )
        return
    row, handler = found
    existing = tables.get_status(ctx.txn, m.invocation_id)
    if existing is not None:
        _on_existing(ctx, m, existing, handler)
        return
    status = lifecycle.new_status(
        ctx, row, handler, m.key, m.argument, m.idempotency_key, m.headers
    )
    if m.caller_invocation_id:
        status.caller_invocation_id = m.caller_invocation_id
        status.caller_entry_index = m.caller_entry_index
    if m.invoke_time_ms > ctx.now_ms:
        lifecycle.schedule(ctx, m.invocation_id, status, m.invoke_time_ms)
    else:
        lifecycle.admit(ctx, m.invocation_id, status)


def _on_existing(
    ctx: Apply, m: rec.StartInvocation, existing: st.InvocationStatus, handler: pb.HandlerSpec
) -> None:
    if not m.caller_invocation_id:
        return  # an idempotent send that happened already
    caller, index = m.caller_invocation_id, m.caller_entry_index
    if handler.ty == pb.WORKFLOW_RUN and not m.idempotency_key:
        failure = completions.failure(409, WORKFLOW_ALREADY_INVOKED)
        messages.complete_entry(ctx, caller, index, failure, m.invocation_id)
    elif existing.phase == st.COMPLETED:
        messages.complete_entry(ctx, caller, index, existing.result, m.invocation_id)
    else:
        existing.attached_entries.add(invocation_id=caller, index=index)
        tables.put_status(ctx.txn, m.invocation_id, existing)
