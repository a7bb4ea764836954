"""SafeTrim: how far every member of the group may trim its log (node.processor reads it)."""

from __future__ import annotations

from partition import tables
from partition.context import Apply
from perdure_proto import records_pb2 as rec


def apply(ctx: Apply, cmd: rec.SafeTrim) -> None:
    tables.raise_safe_trim(ctx.txn, cmd.up_to_lsn)
