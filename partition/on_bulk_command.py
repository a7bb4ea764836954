"""BulkInvocationCommand: one admin command on every invocation of this group that matches a
filter (POST /invocations/bulk/{command}), in the write of the one record that asked for it.

Every replica selects the same invocations (the status rows in key order, as this record sees
them) and changes them as the single-invocation commands do. Each candidate's status is read
again just before its turn, because changing one invocation can change another (killing a
key's holder admits the next invocation of its inbox): the filter is checked on what the
command would act on. An invocation the command does not apply to is skipped, not an error; the
answer counts the invocations changed.
"""

from __future__ import annotations

from collections.abc import Callable

from partition import actions as act
from partition import invocation_control as ctl
from partition import keys, tables
from partition.context import Apply
from perdure_proto import records_pb2 as rec
from perdure_proto import storage_pb2 as st

PHASES: dict[str, int] = {
    "inboxed": st.INBOXED,
    "scheduled": st.SCHEDULED,
    "invoked": st.INVOKED,
    "suspended": st.SUSPENDED,
    "paused": st.PAUSED,
    "completed": st.COMPLETED,
}
# The phases each command acts on (the restate CLI's own selection for its bulk commands).
_APPLIES_TO: dict[int, frozenset[int]] = {
    rec.CANCEL: frozenset(PHASES.values()) - {st.COMPLETED},
    rec.KILL: frozenset(PHASES.values()) - {st.COMPLETED},
    rec.PURGE: frozenset({st.COMPLETED}),
    rec.PAUSE: frozenset({st.INVOKED, st.SUSPENDED}),
    rec.RESUME: frozenset({st.PAUSED, st.SUSPENDED}),
}


def matches(f: rec.InvocationFilter, status: st.InvocationStatus) -> bool:
    if f.service and status.service != f.service:
        return False
    if f.handler and status.handler != f.handler:
        return False
    if f.has_key and status.key != f.key:
        return False
    if f.statuses and status.phase not in {PHASES.get(s, -1) for s in f.statuses}:
        return False
    if f.created_after_ms and status.created_at_ms < f.created_after_ms:
        return False
    if f.created_before_ms and status.created_at_ms >= f.created_before_ms:
        return False
    return not f.deployment_id or status.deployment_id == f.deployment_id


def _command(ctx: Apply, command: int) -> Callable[[str], object]:
    match command:
        case rec.CANCEL:
            return lambda invocation_id: ctl.cancel(ctx, invocation_id)
        case rec.KILL:
            return lambda invocation_id: ctl.kill(ctx, invocation_id)
        case rec.PURGE:
            return lambda invocation_id: ctl.purge(ctx, invocation_id)
        case rec.PAUSE:
            return lambda invocation_id: ctl.pause(ctx, invocation_id)
        case rec.RESUME:
            return lambda invocation_id: ctl.resume(ctx, invocation_id, "")
        case _:
            raise ctl.Refused(400, f"command {rec.Command.Name(command)} cannot be run in bulk")


def apply(ctx: Apply, cmd: rec.BulkInvocationCommand) -> None:
    request_id = cmd.reply.request_id
    try:
        run = _command(ctx, cmd.command)
    except ctl.Refused as refused:
        ctx.actions.append(act.ReplyRejected(request_id, "", refused.code, refused.message))
        return
    applies_to = _APPLIES_TO[cmd.command]
    candidates = [k[len(keys.STATUS) :].decode() for k, _ in ctx.txn.scan(keys.STATUS)]
    affected = 0
    for invocation_id in candidates:
        if cmd.limit and affected >= cmd.limit:
            break
        status = tables.get_status(ctx.txn, invocation_id)
        if status is None or status.phase not in applies_to:
            continue
        if not matches(cmd.filter, status):
            continue
        try:
            run(invocation_id)
        except ctl.Refused:
            continue
        affected += 1
    ctx.actions.append(act.ReplyDone(request_id, "", 200, affected=affected))
