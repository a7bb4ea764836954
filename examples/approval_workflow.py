"""A workflow with a human in the loop: an expense waits for an approval (a durable promise).

``ExpenseApproval.run`` runs once per workflow key. It notifies an approver, then waits on the
durable promise ``decision``, which the shared handlers ``approve`` / ``reject`` complete
(at most once: a second decision is refused with 409). Waiting costs nothing: the workflow
suspends, survives restarts, and gives up after a week without a decision.

Try it (served with ``python -m perdure serve examples.approval_workflow:app --port 9080``)::

    curl localhost:8080/ExpenseApproval/exp-1/run/send \\
        --json '{"title": "laptop", "amount": 1200}'                       # 202 Accepted
    curl localhost:8080/ExpenseApproval/exp-1/status                    # "waiting for approval"
    curl localhost:8080/ExpenseApproval/exp-1/approve \\
        --json '{"by": "alice", "comment": "ok"}'
    curl localhost:8080/restate/workflow/ExpenseApproval/exp-1/attach
    # "paid 1200 for 'laptop', approved by alice: ok"
"""

from __future__ import annotations

from datetime import timedelta
from typing import TypedDict

import perdure as restate

log = restate.getLogger(__name__)


class Expense(TypedDict):
    title: str
    amount: int


class Verdict(TypedDict):
    by: str
    comment: str


class Decision(TypedDict):
    approved: bool
    by: str
    comment: str


approval = restate.Workflow("ExpenseApproval")


def decision_promise(
    ctx: restate.WorkflowContext | restate.WorkflowSharedContext,
) -> restate.DurablePromise[Decision]:
    """The durable promise the approver completes (once per workflow key)."""
    return ctx.promise("decision")


def _notify_approver(expense_id: str, title: str) -> None:
    """Stands for sending an e-mail with links to the approve / reject handlers."""
    log.info("please approve expense %s (%s)", expense_id, title)


def _pay_out(title: str, amount: int) -> str:
    """Stands for the call to the bank."""
    return f"paid {amount} for {title!r}"


@approval.main()
async def run(ctx: restate.WorkflowContext, expense: Expense) -> str:
    ctx.set("status", "waiting for approval")
    await ctx.run_typed(
        "notify approver", _notify_approver, expense_id=ctx.key(), title=expense["title"]
    )

    match await restate.select(
        decision=decision_promise(ctx).value(),
        timeout=ctx.sleep(timedelta(days=7)),
    ):
        case ["decision", decision]:
            pass
        case _:
            ctx.set("status", "expired")
            raise restate.TerminalError("no decision within a week", status_code=408)

    if not decision["approved"]:
        ctx.set("status", "rejected")
        return f"rejected by {decision['by']}: {decision['comment']}"
    ctx.set("status", "approved")
    receipt = await ctx.run_typed(
        "pay out", _pay_out, title=expense["title"], amount=expense["amount"]
    )
    ctx.set("status", "paid")
    return f"{receipt}, approved by {decision['by']}: {decision['comment']}"


@approval.handler()
async def approve(ctx: restate.WorkflowSharedContext, verdict: Verdict) -> None:
    decision = Decision(approved=True, by=verdict["by"], comment=verdict["comment"])
    await decision_promise(ctx).resolve(decision)


@approval.handler()
async def reject(ctx: restate.WorkflowSharedContext, verdict: Verdict) -> None:
    decision = Decision(approved=False, by=verdict["by"], comment=verdict["comment"])
    await decision_promise(ctx).resolve(decision)


@approval.handler()
async def status(ctx: restate.WorkflowSharedContext) -> str | None:
    return await ctx.get("status", type_hint=str)


app = restate.app(services=[approval])
