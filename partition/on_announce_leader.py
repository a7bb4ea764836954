"""AnnounceLeader: marks where a new leader's term of actions begins."""

from __future__ import annotations

from partition import actions as act
from partition import tables
from partition.context import Apply
from perdure_proto import records_pb2 as rec


def apply(ctx: Apply, cmd: rec.AnnounceLeader) -> None:
    if cmd.term:
        if cmd.term <= tables.announced_term(ctx.txn):
            return  # a deposed leader's, after its successor's: it starts nothing
        tables.set_announced_term(ctx.txn, cmd.term)
    # Records of earlier leaderships are refused from here on (partition/state_machine.py).
    number = tables.next_leadership(ctx.txn)
    ctx.actions.append(act.LeaderAnnounced(cmd.leader_id, cmd.epoch, number))
