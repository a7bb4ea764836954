"""RegisterDeployment: store a deployment and make its services the current revisions."""

from __future__ import annotations

from partition import actions as act
from partition import tables
from partition.context import Apply
from perdure_proto import records_pb2 as rec
from perdure_proto import storage_pb2 as st


def apply(ctx: Apply, cmd: rec.RegisterDeployment) -> None:
    ctx.schema = ctx.schema.staged()  # adopted when the write batch commits
    row = st.DeploymentRow(id=cmd.deployment_id, uri=cmd.uri, created_at_ms=ctx.now_ms)
    row.manifest.CopyFrom(cmd.manifest)
    row.additional_headers.extend(cmd.additional_headers)
    previous = ctx.schema.deployments.get(cmd.deployment_id)
    unchanged = previous is not None and previous.manifest == cmd.manifest
    if previous is not None:
        row.created_at_ms = previous.created_at_ms
    tables.put_deployment(ctx.txn, row)
    ctx.schema.deployments[row.id] = row
    for spec in cmd.manifest.services:
        old = ctx.schema.services.get(spec.name)
        if old is not None and old.deployment_id == row.id and (old.spec == spec or unchanged):
            continue  # unchanged keeps what PATCH /services/{name} changed since
        service = st.ServiceRow(revision=(old.revision + 1) if old is not None else 1)
        service.spec.CopyFrom(spec)
        service.deployment_id = row.id
        tables.put_service(ctx.txn, service)
        ctx.schema.services[spec.name] = service
    ctx.actions.append(act.SchemaChanged())
