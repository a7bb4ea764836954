"""ModifyService: an operator changed a registered service's options (PATCH /services/{name}).

Applied by every group, like a registration, and cached the same way (a staged schema adopted
when the write batch commits). The service row is replaced, never edited: the schema's handler
cache keys on the row object.
"""

from __future__ import annotations

from partition import actions as act
from partition import tables
from partition.context import Apply
from perdure_proto import records_pb2 as rec
from perdure_proto import storage_pb2 as st


def apply(ctx: Apply, cmd: rec.ModifyService) -> None:
    old = ctx.schema.services.get(cmd.service)
    if old is None:
        return  # removed meanwhile: nothing to change (the admin API checked it existed)
    ctx.schema = ctx.schema.staged()  # adopted when the write batch commits
    row = st.ServiceRow()
    row.CopyFrom(old)
    row.spec.options.MergeFrom(cmd.options)
    tables.put_service(ctx.txn, row)
    ctx.schema.services[cmd.service] = row
    ctx.actions.append(act.SchemaChanged())
