"""PreferLeader: the member the campaign hands the group's leadership to (node.campaign)."""

from __future__ import annotations

from partition import tables
from partition.context import Apply
from perdure_proto import records_pb2 as rec


def apply(ctx: Apply, cmd: rec.PreferLeader) -> None:
    tables.set_preferred_leader(ctx.txn, cmd.raft_address)
