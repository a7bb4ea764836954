"""AnnounceLeader: marks where a new leader's term of actions begins."""

from __future__ import annotations

from partition import actions as act
from partition import tables
from partition.context import Apply
from perdure_proto import records_pb2 as rec


def apply(ctx: Apply, cmd: rec.AnnounceLeader) -> None:
    # Records of earlier leaderships are refused from here on (partition/state_machine.py).
    number = tables.next_leadership(ctx.txn)
    ctx.actions.append(act.LeaderAnnounced(cmd.leader_id, cmd.epoch, number))
