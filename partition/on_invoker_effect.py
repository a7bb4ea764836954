"""InvokerEffect: journal commands a deployment produced during an attempt, then maybe its
suspension.

Commands are appended strictly in index order: a command whose index is not the next one is a
duplicate (or comes from a superseded attempt) and is dropped, so re-proposed effects apply
once. Each command's side effects happen in the same write: state changes of exclusive
handlers, timers of sleeps, the invocations that calls and sends start, awakeable and promise
completions. `Output` completes the invocation.
"""

from __future__ import annotations

from partition import actions as act
from partition import (
    calls,
    completions,
    ids,
    lifecycle,
    messages,
    promises,
    tables,
)
from partition.context import Apply
from perdure_proto import protocol_pb2 as pb
from perdure_proto import records_pb2 as rec
from perdure_proto import storage_pb2 as st


def apply(ctx: Apply, cmd: rec.InvokerEffect) -> None:
    invocation_id = cmd.invocation_id
    status = tables.get_status(ctx.txn, invocation_id)
    if status is None or status.phase != st.INVOKED:
        return
    if not _admit_attempt(status, ctx.leadership, cmd.attempt):
        return  # from an attempt older than one that already started: it never counts
    if not status.deployment_id and cmd.deployment_id:
        status.deployment_id = cmd.deployment_id
    acked = 0
    for command in cmd.commands:
        if command.index != status.journal_length + 1:
            continue
        entry = command.entry
        if entry.WhichOneof("command") == "output":
            lifecycle.complete(ctx, invocation_id, status, entry.output.result)
            return
        status.journal_length = command.index
        _apply_command(ctx, invocation_id, status, command.index, entry)
        tables.put_journal_entry(ctx.txn, invocation_id, command.index, entry)
        acked = command.index
        if status.cancel_requested and _is_pending_call(entry):
            # Made after the cancellation was requested but before the handler observed it:
            # one of the pending calls the cancellation propagates to.
            messages.cancel(ctx, entry.completion_invocation_id)
    status.modified_at_ms = ctx.now_ms
    tables.put_status(ctx.txn, invocation_id, status)
    if acked:
        ctx.actions.append(act.Ack(invocation_id, acked, cmd.attempt))
    if cmd.HasField("suspension"):
        completions.suspend(ctx, invocation_id, status, list(cmd.suspension.waiting_on))


def _admit_attempt(status: st.InvocationStatus, leadership: int, attempt: int) -> bool:
    """Whether effects of `attempt` (of `leadership`) still apply, raising the fence to it.
    An effect with no commands is the invoker's barrier before a retry: applying it makes every
    later effect of the older attempts void, and once the invoker sees it applied, the journal
    it reads holds every effect of theirs that will ever count."""
    if status.fence_leadership != leadership:  # a new leadership numbers attempts afresh
        status.fence_leadership, status.fence_attempt = leadership, attempt
        return True
    if attempt < status.fence_attempt:
        return False
    status.fence_attempt = attempt
    return True


def _apply_command(
    ctx: Apply, invocation_id: str, status: st.InvocationStatus, index: int, entry: pb.JournalEntry
) -> None:
    """Side effects of one new journal command (the entry is stored right after)."""
    kind = entry.WhichOneof("command")
    keyed = lifecycle.holds_key(status)
    if kind == "set_state" and keyed:
        tables.set_state(
            ctx.txn, status.service, status.key, entry.set_state.key, entry.set_state.value
        )
    elif kind == "clear_state" and keyed:
        tables.clear_state(ctx.txn, status.service, status.key, entry.clear_state.key)
    elif kind == "clear_all_state" and keyed:
        tables.clear_all_state(ctx.txn, status.service, status.key)
    elif kind == "sleep":
        wake = entry.sleep.wake_up_time_ms
        tables.put_timer(ctx.txn, wake, invocation_id, index, st.COMPLETE_ENTRY)
        ctx.actions.append(act.RegisterTimer(wake, invocation_id, index))
    elif kind in ("call", "send"):
        calls.start(ctx, invocation_id, index, entry, is_call=kind == "call")
    elif kind == "complete_awakeable":
        _complete_awakeable(ctx, entry.complete_awakeable)
    elif kind in ("get_promise", "peek_promise", "complete_promise"):
        promises.apply(ctx, invocation_id, status, index, entry)
    elif kind == "attach_invocation":
        _attach(ctx, invocation_id, index, entry)
    elif kind == "cancel_invocation":
        messages.cancel(ctx, entry.cancel_invocation.invocation_id)
    elif kind == "cancelled":
        status.cancel_requested = False  # the handler observed it


def _is_pending_call(entry: pb.JournalEntry) -> bool:
    return (
        entry.WhichOneof("command") == "call"
        and bool(entry.completion_invocation_id)
        and not completions.is_completed(entry)
    )


def _complete_awakeable(ctx: Apply, cmd: pb.CompleteAwakeable) -> None:
    try:
        target, target_index = ids.parse_awakeable_id(cmd.id)
    except ids.Error:
        return  # the SDK validated it; a bad id completes nothing
    messages.complete_entry(ctx, target, target_index, cmd.result)


def _attach(ctx: Apply, invocation_id: str, index: int, entry: pb.JournalEntry) -> None:
    messages.attach(ctx, entry.attach_invocation.invocation_id, invocation_id, index)
