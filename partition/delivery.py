"""Applying partition messages (partition.messages): those sent within this partition, at the
end of the record that sent them, and those delivered from another partition's outbox
(`Deliver`), once per producer sequence number."""

from __future__ import annotations

import contextlib
import logging

from partition import calls, completions, invocation_control, messages, tables
from partition.context import Apply
from perdure_proto import records_pb2 as rec
from perdure_proto import storage_pb2 as st

log = logging.getLogger(__name__)


def apply_local(ctx: Apply) -> None:
    """Apply the messages the current record sent to this partition (and those they send)."""
    while ctx.local:
        _dispatch(ctx, ctx.local.popleft())


def on_deliver(ctx: Apply, cmd: rec.Deliver) -> None:
    if cmd.producer == ctx.options.group:
        # A group never sends itself a delivery: a mislabelled producer would share another's
        # dedup row and lose its messages, so refuse loudly rather than apply.
        log.error("refusing a delivery that claims to come from this group (%d)", cmd.producer)
        return
    applied = first = tables.applied_from(ctx.txn, cmd.producer)
    for m in cmd.messages:
        # Up to `applied`: delivered before (a retry of the producer's shuffle). Sequence
        # numbers count the producer's whole outbox, so those of one target have gaps
        # (messages to other groups); each target receives its own in increasing order.
        if m.seq > applied:
            applied = m.seq
            ctx.local.append(m.message)
    if applied > first:
        tables.set_applied_from(ctx.txn, cmd.producer, applied)


def on_truncate_outbox(ctx: Apply, cmd: rec.TruncateOutbox) -> None:
    tables.truncate_outbox(ctx.txn, cmd.up_to)


def _attach(ctx: Apply, m: rec.EntryWaiter) -> None:
    target = tables.get_status(ctx.txn, m.invocation_id)
    if target is None:
        failure = completions.failure(404, "invocation not found")
        messages.complete_entry(
            ctx, m.waiter_invocation_id, m.waiter_index, failure, m.invocation_id
        )
    elif target.phase == st.COMPLETED:
        messages.complete_entry(
            ctx, m.waiter_invocation_id, m.waiter_index, target.result, m.invocation_id
        )
    else:
        target.attached_entries.add(invocation_id=m.waiter_invocation_id, index=m.waiter_index)
        tables.put_status(ctx.txn, m.invocation_id, target)


def _dispatch(ctx: Apply, message: rec.PartitionMessage) -> None:
    kind = message.WhichOneof("kind")
    if kind == "start_invocation":
        calls.receive(ctx, message.start_invocation)
    elif kind == "complete_entry":
        m = message.complete_entry
        completions.complete_entry(ctx, m.invocation_id, m.index, m.result, m.callee_invocation_id)
    elif kind == "attach":
        _attach(ctx, message.attach)
    elif kind == "cancel_invocation":
        invocation_control.cancel(ctx, message.cancel_invocation)
    elif kind == "kill_invocation":
        with contextlib.suppress(invocation_control.Refused):  # gone already: nothing to kill
            invocation_control.kill(ctx, message.kill_invocation)
    else:
        log.error("skipping a partition message of unknown kind %r", kind)
