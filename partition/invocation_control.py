"""Cancel, kill, pause, resume, purge and restart invocations (from the admin API or from
handlers). Each returns the HTTP status Restate answers with; errors come as `Refused`.

Cancel is cooperative: the handler sees TerminalError("cancelled", 409) at its next await and
may run compensations; it propagates to the invocation's pending calls first (not its sends).
Kill is immediate: the invocation (and, recursively, its pending calls) completes with
409 "killed" without running any more user code.
"""

from __future__ import annotations

from partition import actions as act
from partition import completions, lifecycle, messages, tables
from partition.context import Apply
from perdure_proto import protocol_pb2 as pb
from perdure_proto import storage_pb2 as st

CANCELLED = "cancelled"
KILLED = "killed"


class Refused(Exception):
    """The command does not apply; `code` is the HTTP status to answer with."""

    def __init__(self, code: int, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def _status(ctx: Apply, invocation_id: str) -> st.InvocationStatus:
    status = tables.get_status(ctx.txn, invocation_id)
    if status is None:
        raise Refused(404, f"invocation {invocation_id} not found")
    return status


def _pending_calls(ctx: Apply, invocation_id: str) -> list[str]:
    return [
        e.completion_invocation_id
        for e in tables.journal_entries(ctx.txn, invocation_id)
        if e.WhichOneof("command") == "call"
        and e.completion_invocation_id
        and not completions.is_completed(e)
    ]


def cancel(ctx: Apply, invocation_id: str) -> int:
    """202 once asked; 404 (unknown) and 409 (already completed) are Restate's refusals, which
    the admin command answers and a propagated cancellation ignores."""
    status = tables.get_status(ctx.txn, invocation_id)
    if status is None:
        return 404
    if status.phase == st.COMPLETED:
        return 409
    for child in _pending_calls(ctx, invocation_id):
        messages.cancel(ctx, child)
    if status.phase in (st.INBOXED, st.SCHEDULED):
        lifecycle.complete(ctx, invocation_id, status, completions.failure(409, CANCELLED))
        return 202
    status.cancel_requested = True
    if status.phase == st.INVOKED:
        tables.put_status(ctx.txn, invocation_id, status)
        ctx.actions.append(act.Cancel(invocation_id))
    else:  # suspended or paused: run it again so the handler can observe the cancellation
        completions.resume(ctx, invocation_id, status)
    return 202


def kill(ctx: Apply, invocation_id: str) -> int:
    status = _status(ctx, invocation_id)
    if status.phase == st.COMPLETED:
        raise Refused(409, f"invocation {invocation_id} has already completed")
    for child in _pending_calls(ctx, invocation_id):
        messages.kill(ctx, child)
    lifecycle.complete(ctx, invocation_id, status, completions.failure(409, KILLED), abort=True)
    return 200


def pause(ctx: Apply, invocation_id: str) -> int:
    status = _status(ctx, invocation_id)
    if status.phase == st.PAUSED:
        return 200
    if status.phase not in (st.INVOKED, st.SUSPENDED):
        raise Refused(409, f"invocation {invocation_id} is not running; only running ones pause")
    status.phase = st.PAUSED
    status.modified_at_ms = ctx.now_ms
    tables.put_status(ctx.txn, invocation_id, status)
    ctx.actions.append(act.Ended(invocation_id, abort=True))
    return 202


def resume(ctx: Apply, invocation_id: str, deployment: str) -> int:
    status = _status(ctx, invocation_id)
    if status.phase == st.INVOKED:
        return 200
    if status.phase not in (st.PAUSED, st.SUSPENDED):
        raise Refused(409, f"invocation {invocation_id} is not paused or suspended")
    if deployment == "latest":
        status.deployment_id = ""
    elif deployment not in ("", "keep"):
        if deployment not in ctx.schema.deployments:
            raise Refused(400, f"deployment {deployment} is not registered")
        status.deployment_id = deployment
    completions.resume(ctx, invocation_id, status)
    return 200


def purge(ctx: Apply, invocation_id: str) -> int:
    status = _status(ctx, invocation_id)
    if status.phase != st.COMPLETED:
        raise Refused(409, f"invocation {invocation_id} has not completed; only completed purge")
    forget(ctx, invocation_id, status)
    return 200


def forget(ctx: Apply, invocation_id: str, status: st.InvocationStatus) -> None:
    """Drop a completed invocation; a workflow's run takes its key's state and promises along."""
    tables.delete_status(ctx.txn, invocation_id, status)
    if status.handler_type == pb.WORKFLOW_RUN:
        tables.clear_all_state(ctx.txn, status.service, status.key)
        tables.clear_promises(ctx.txn, status.service, status.key)


def purge_journal(ctx: Apply, invocation_id: str) -> int:
    status = _status(ctx, invocation_id)
    if status.phase != st.COMPLETED:
        raise Refused(409, f"invocation {invocation_id} has not completed")
    tables.delete_journal(ctx.txn, invocation_id, status.journal_length)
    return 200


def restart_as_new(ctx: Apply, invocation_id: str, new_id: str) -> int:
    status = _status(ctx, invocation_id)
    if status.phase != st.COMPLETED:
        raise Refused(409, f"invocation {invocation_id} has not completed; restart needs that")
    if status.handler_type == pb.WORKFLOW_RUN:
        raise Refused(400, "a workflow run cannot be restarted as new; purge it and run it again")
    fresh = st.InvocationStatus(
        service=status.service,
        handler=status.handler,
        key=status.key,
        service_type=status.service_type,
        handler_type=status.handler_type,
        input=status.input,
        created_at_ms=ctx.now_ms,
        modified_at_ms=ctx.now_ms,
        restarted_from=invocation_id,
    )
    fresh.headers.extend(status.headers)
    lifecycle.admit(ctx, new_id, fresh)
    return 200
