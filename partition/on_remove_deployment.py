"""RemoveDeployment: forget a deployment and the services whose current revision it serves
(Restate's `remove_deployment`: a service another deployment took over stays). The admin API
refused beforehand when something still needed it, unless forced; invocations pinned to it
then fail their next attempt (no endpoint) and end in a pause, where kill or resume with
another deployment reaches them."""

from __future__ import annotations

from partition import actions as act
from partition import tables
from partition.context import Apply
from perdure_proto import records_pb2 as rec


def apply(ctx: Apply, cmd: rec.RemoveDeployment) -> None:
    if cmd.deployment_id not in ctx.schema.deployments:
        return
    ctx.schema = ctx.schema.staged()  # adopted when the write batch commits
    del ctx.schema.deployments[cmd.deployment_id]
    tables.delete_deployment(ctx.txn, cmd.deployment_id)
    for name, row in list(ctx.schema.services.items()):
        if row.deployment_id == cmd.deployment_id:
            del ctx.schema.services[name]
            tables.delete_service(ctx.txn, name)
    ctx.actions.append(act.SchemaChanged())
