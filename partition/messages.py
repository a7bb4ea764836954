"""Messages between invocations, wherever they live: the one way a command reaches an invocation
that may belong to another partition (a call or send starting its target, a result going back
to the caller's journal entry).

Theory of operation
-------------------
`send` looks up the group (partition process, partition.routing) of the target invocation
(its id carries its partition key). To this group: the message is queued on the `Apply` context
and applied when the current record's handler has returned, in the same write batch and in
sending order, exactly as a delivered message would be (so one code path serves both). To
another group: the message is stored in the outbox with the next outbox sequence number, in the
same write as the command that sent it, and a `Shuffle` action tells the leader to deliver it
(node/shuffle.py). The receiver applies a `Deliver` record once per (producer group, sequence
number): its dedup row is written in the same batch (partition/delivery.py), so retried
deliveries are harmless. Messages from one group to another are delivered in outbox order, so
calls and sends from one handler to one key are still admitted in journal order.
"""

from __future__ import annotations

from partition import actions as act
from partition import tables
from partition.context import Apply
from perdure_proto import protocol_pb2 as pb
from perdure_proto import records_pb2 as rec


def send(ctx: Apply, target_invocation_id: str, message: rec.PartitionMessage) -> None:
    target = ctx.options.partitioning.group_of_invocation(target_invocation_id)
    if target == ctx.options.group:
        ctx.local.append(message)
        return
    seq = tables.push_outbox(ctx.txn, target, message)
    ctx.actions.append(act.Shuffle(seq))


def cancel(ctx: Apply, invocation_id: str) -> None:
    send(ctx, invocation_id, rec.PartitionMessage(cancel_invocation=invocation_id))


def kill(ctx: Apply, invocation_id: str) -> None:
    send(ctx, invocation_id, rec.PartitionMessage(kill_invocation=invocation_id))


def attach(ctx: Apply, target_id: str, waiter_id: str, waiter_index: int) -> None:
    """Ask for `target_id`'s result (now if it has one) in entry `waiter_index` of `waiter_id`."""
    message = rec.PartitionMessage()
    m = message.attach
    m.invocation_id = target_id
    m.waiter_invocation_id = waiter_id
    m.waiter_index = waiter_index
    send(ctx, target_id, message)


def complete_entry(
    ctx: Apply, invocation_id: str, index: int, result: pb.Result, callee_id: str = ""
) -> None:
    """Complete journal entry `index` of `invocation_id` (if it still waits) with `result`."""
    message = rec.PartitionMessage()
    m = message.complete_entry
    m.invocation_id = invocation_id
    m.index = index
    m.result.CopyFrom(result)
    m.callee_invocation_id = callee_id
    send(ctx, invocation_id, message)
