"""InvocationCommand: an admin command on one invocation, answered with Restate's codes."""

from __future__ import annotations

from partition import actions as act
from partition import invocation_control as ctl
from partition.context import Apply
from perdure_proto import records_pb2 as rec


def apply(ctx: Apply, cmd: rec.InvocationCommand) -> None:
    request_id = cmd.reply.request_id
    target = cmd.invocation_id
    try:
        match cmd.command:
            case rec.CANCEL:
                code = ctl.cancel(ctx, target)
                if code == 404:
                    raise ctl.Refused(404, f"invocation {target} not found")
                if code == 409:
                    raise ctl.Refused(409, f"invocation {target} has already completed")
            case rec.KILL:
                code = ctl.kill(ctx, target)
            case rec.PAUSE:
                code = ctl.pause(ctx, target)
            case rec.RESUME:
                code = ctl.resume(ctx, target, cmd.deployment)
            case rec.PURGE:
                code = ctl.purge(ctx, target)
            case rec.PURGE_JOURNAL:
                code = ctl.purge_journal(ctx, target)
            case rec.RESTART_AS_NEW:
                code = ctl.restart_as_new(ctx, target, cmd.new_invocation_id)
            case _:
                raise ctl.Refused(400, f"unknown invocation command {cmd.command}")
    except ctl.Refused as refused:
        ctx.actions.append(act.ReplyRejected(request_id, target, refused.code, refused.message))
        return
    new_id = cmd.new_invocation_id if cmd.command == rec.RESTART_AS_NEW else ""
    ctx.actions.append(act.ReplyDone(request_id, target, code, new_id))
