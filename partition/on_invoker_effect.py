"""InvokerEffect: journal commands a deployment produced during an attempt.

Commands are appended strictly in index order: a command whose index is not the next one is a
duplicate (or comes from a superseded attempt) and is dropped, so re-proposed effects apply
once. State commands of exclusive handlers change the key's state in the same write. `Output`
completes the invocation.
"""

from __future__ import annotations

from partition import actions as act
from partition import lifecycle, tables
from partition.context import Apply
from partition.pb import records_pb2 as rec
from partition.pb import storage_pb2 as st
from perdure._pb import protocol_pb2 as pb


def apply(ctx: Apply, cmd: rec.InvokerEffect) -> None:
    status = tables.get_status(ctx.txn, cmd.invocation_id)
    if status is None or status.phase != st.INVOKED:
        return
    if not status.deployment_id and cmd.deployment_id:
        status.deployment_id = cmd.deployment_id
    acked = 0
    for command in cmd.commands:
        if command.index != status.journal_length + 1:
            continue
        entry = command.entry
        if entry.WhichOneof("command") == "output":
            lifecycle.complete(ctx, cmd.invocation_id, status, entry.output.result)
            return
        tables.put_journal_entry(ctx.txn, cmd.invocation_id, command.index, entry)
        status.journal_length = command.index
        _apply_state(ctx, status, entry)
        acked = command.index
    status.modified_at_ms = ctx.now_ms
    tables.put_status(ctx.txn, cmd.invocation_id, status)
    if acked:
        ctx.actions.append(act.Ack(cmd.invocation_id, acked))


def _apply_state(ctx: Apply, status: st.InvocationStatus, entry: pb.JournalEntry) -> None:
    if not lifecycle.holds_key(status):
        return  # shared handlers and Services have no writable state
    kind = entry.WhichOneof("command")
    if kind == "set_state":
        tables.set_state(
            ctx.txn, status.service, status.key, entry.set_state.key, entry.set_state.value
        )
    elif kind == "clear_state":
        tables.clear_state(ctx.txn, status.service, status.key, entry.clear_state.key)
    elif kind == "clear_all_state":
        tables.clear_all_state(ctx.txn, status.service, status.key)
