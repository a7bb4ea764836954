"""ResolveAwakeable: the ingress completes an awakeable (answered 202 once durable)."""

from __future__ import annotations

from partition import actions as act
from partition import completions, ids
from partition.context import Apply
from perdure_proto import records_pb2 as rec


def apply(ctx: Apply, cmd: rec.ResolveAwakeable) -> None:
    request_id = cmd.reply.request_id
    try:
        invocation_id, index = ids.parse_awakeable_id(cmd.awakeable_id)
    except ids.Error as exc:
        ctx.actions.append(act.ReplyRejected(request_id, "", 400, str(exc)))
        return
    completions.complete_entry(ctx, invocation_id, index, cmd.result)
    ctx.actions.append(act.ReplyAccepted(request_id, invocation_id, previously=False))
