"""Transitions shared by several commands: admitting an invocation (run now or queue behind its
key), completing it, and handing a Virtual Object key to the next queued invocation.

Theory of operation: an exclusive handler (VO exclusive, workflow run) holds its key's lock from
admission to completion; later exclusive invocations on the key wait in the key's FIFO inbox.
Shared handlers and plain Services never take the lock.
"""

from __future__ import annotations

from collections.abc import Iterable

from partition import actions as act
from partition import messages, state_mutation, tables
from partition.context import Apply
from perdure_proto import protocol_pb2 as pb
from perdure_proto import records_pb2 as rec
from perdure_proto import storage_pb2 as st


def holds_key(status: st.InvocationStatus) -> bool:
    return status.handler_type in (pb.EXCLUSIVE, pb.WORKFLOW_RUN)


def new_status(
    ctx: Apply,
    row: st.ServiceRow,
    handler: pb.HandlerSpec,
    key: str,
    input_: bytes,
    idempotency_key: str,
    headers: Iterable[pb.Header],
) -> st.InvocationStatus:
    """The status row of a new invocation of `handler`, before admission."""
    status = st.InvocationStatus(
        service=row.spec.name,
        handler=handler.name,
        key=key,
        service_type=row.spec.ty,
        handler_type=handler.ty,
        input=input_,
        idempotency_key=idempotency_key,
        created_at_ms=ctx.now_ms,
        modified_at_ms=ctx.now_ms,
    )
    status.headers.extend(headers)
    return status


def admit(ctx: Apply, invocation_id: str, status: st.InvocationStatus) -> None:
    """Run the new invocation now, or queue it behind the key's current holder."""
    if holds_key(status):
        lock = tables.get_lock(ctx.txn, status.service, status.key)
        if lock.invocation_id or lock.inbox_head != lock.inbox_tail:
            tables.push_inbox(ctx.txn, status.service, status.key, lock, invocation_id)
            tables.put_lock(ctx.txn, status.service, status.key, lock)
            status.phase = st.INBOXED
            tables.put_status(ctx.txn, invocation_id, status)
            return
        lock.invocation_id = invocation_id
        tables.put_lock(ctx.txn, status.service, status.key, lock)
    status.phase = st.INVOKED
    tables.put_status(ctx.txn, invocation_id, status)
    ctx.actions.append(act.Invoke(invocation_id, status))


def schedule(ctx: Apply, invocation_id: str, status: st.InvocationStatus, at_ms: int) -> None:
    """A delayed invocation: a timer admits it at `at_ms`."""
    status.phase = st.SCHEDULED
    status.execution_time_ms = at_ms
    tables.put_status(ctx.txn, invocation_id, status)
    tables.put_timer(ctx.txn, at_ms, invocation_id, 0, st.START_SCHEDULED)
    ctx.actions.append(act.RegisterTimer(at_ms, invocation_id, 0))


def retention_ms(ctx: Apply, status: st.InvocationStatus) -> int:
    if status.handler_type == pb.WORKFLOW_RUN:
        name, default = "workflow_retention_ms", ctx.options.default_workflow_retention_ms
    else:
        name, default = "idempotency_retention_ms", ctx.options.default_idempotency_retention_ms
    value = ctx.schema.option(status.service, status.handler, name)
    return default if value is None else value


def complete(
    ctx: Apply,
    invocation_id: str,
    status: st.InvocationStatus,
    result: pb.Result,
    abort: bool = False,
) -> None:
    """Store the result, answer everyone waiting for it, and free the key."""
    if result.HasField("failure") and result.failure.code == 0:
        result.failure.code = 500
    status.phase = st.COMPLETED
    status.result.CopyFrom(result)
    status.completed_at_ms = ctx.now_ms
    status.modified_at_ms = ctx.now_ms
    status.expires_at_ms = ctx.now_ms + retention_ms(ctx, status)
    status.output_content_type = ctx.schema.output_content_type(status.service, status.handler)
    status.cancel_requested = False
    del status.waiting_on[:]
    tables.delete_journal(ctx.txn, invocation_id, status.journal_length)
    for request_id in status.waiting_requests:
        ctx.actions.append(
            act.ReplyCompleted(request_id, invocation_id, result, status.output_content_type, 0)
        )
    del status.waiting_requests[:]
    waiting = list(status.attached_entries)
    del status.attached_entries[:]
    tables.put_status(ctx.txn, invocation_id, status)
    ctx.actions.append(act.Ended(invocation_id, abort=abort, completed=True))
    if status.caller_invocation_id:
        messages.complete_entry(
            ctx, status.caller_invocation_id, status.caller_entry_index, result, invocation_id
        )
    for ref in waiting:
        messages.complete_entry(ctx, ref.invocation_id, ref.index, result, invocation_id)
    if holds_key(status):
        release_key(ctx, invocation_id, status)


def release_key(ctx: Apply, invocation_id: str, status: st.InvocationStatus) -> None:
    lock = tables.get_lock(ctx.txn, status.service, status.key)
    if lock.invocation_id != invocation_id:
        return
    lock.invocation_id = ""
    while (next_id := tables.pop_inbox(ctx.txn, status.service, status.key, lock)) is not None:
        if isinstance(next_id, rec.ModifyState):
            state_mutation.mutate(ctx, next_id)
            continue
        queued = tables.get_status(ctx.txn, next_id)
        if queued is None or queued.phase != st.INBOXED:
            continue
        lock.invocation_id = next_id
        queued.phase = st.INVOKED
        queued.modified_at_ms = ctx.now_ms
        tables.put_status(ctx.txn, next_id, queued)
        ctx.actions.append(act.Invoke(next_id, queued))
        break
    tables.put_lock(ctx.txn, status.service, status.key, lock)


def reply_stored(
    ctx: Apply, request_id: int, invocation_id: str, status: st.InvocationStatus
) -> None:
    ctx.actions.append(
        act.ReplyCompleted(
            request_id,
            invocation_id,
            status.result,
            status.output_content_type,
            status.expires_at_ms,
        )
    )
