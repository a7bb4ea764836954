"""Completing an invocation: what is stored, how long it is kept, who is told, and which queued
invocation gets the key next."""

from __future__ import annotations

from partition import actions as act
from partition import ids, tables
from partition.context import Options
from partition.state_machine import StateMachine
from perdure_proto import protocol_pb2 as pb
from perdure_proto import records_pb2 as rec
from perdure_proto import storage_pb2 as st
from tests.partition.scenario import Scenario, manifest

HOUR_MS = 3_600_000


def fail(sc: Scenario, invocation_id: str, index: int, failure: pb.Failure) -> list[act.Action]:
    entry = pb.JournalEntry(output=pb.Output(result=pb.Result(failure=failure)))
    return sc.effect(invocation_id, (index, entry))


def register_with_retention_options(sc: Scenario) -> None:
    """Counter.get keeps idempotent results 5 h (its own option), Counter's other handlers 4 h
    (the service's option); Signup's run keeps workflows 3 h."""
    m = manifest()
    for service in m.services:
        if service.name == "Counter":
            service.options.idempotency_retention_ms = 4 * HOUR_MS
            next(
                h for h in service.handlers if h.name == "get"
            ).options.idempotency_retention_ms = 5 * HOUR_MS
        if service.name == "Signup":
            next(h for h in service.handlers if h.name == "run").options.workflow_retention_ms = (
                3 * HOUR_MS
            )
    sc.apply(
        rec.Envelope(
            register_deployment=rec.RegisterDeployment(
                deployment_id="dp_2", uri="http://127.0.0.1:9081", manifest=m, force=True
            )
        )
    )


def kept_for(sc: Scenario, invocation_id: str) -> int:
    status = sc.status(invocation_id)
    assert status.phase == st.COMPLETED
    return status.expires_at_ms - status.completed_at_ms


def test_workflows_and_idempotent_invocations_are_kept_for_their_own_default_retention(
    sc: Scenario,
) -> None:
    sc.sm = StateMachine(
        sc.store,
        Options(
            default_idempotency_retention_ms=HOUR_MS, default_workflow_retention_ms=2 * HOUR_MS
        ),
    )
    sc.invoke("inv_w", "Signup", "run", key="alice")
    sc.output("inv_w", 1, b'"done"')
    sc.invoke("inv_i", "Greeter", "greet", idempotency_key="once")
    sc.output("inv_i", 1, b'"hi"')
    assert (kept_for(sc, "inv_w"), kept_for(sc, "inv_i")) == (2 * HOUR_MS, HOUR_MS)


def test_a_handlers_retention_option_wins_over_its_services_and_the_default(sc: Scenario) -> None:
    register_with_retention_options(sc)
    sc.invoke("inv_w", "Signup", "run", key="alice")
    sc.output("inv_w", 1, b'"done"')
    sc.invoke("inv_g", "Counter", "get", key="k", idempotency_key="a")
    sc.output("inv_g", 1, b"1")
    sc.invoke("inv_a", "Counter", "add", key="k", idempotency_key="b")
    sc.output("inv_a", 1, b"2")
    assert [kept_for(sc, i) for i in ("inv_w", "inv_g", "inv_a")] == [
        3 * HOUR_MS,
        5 * HOUR_MS,
        4 * HOUR_MS,
    ]


def test_a_failure_without_a_code_is_stored_and_answered_as_500(sc: Scenario) -> None:
    sc.invoke("inv_f", "Greeter", "greet", request_id=1)
    actions = fail(sc, "inv_f", 1, pb.Failure(message="boom"))
    replies = [a for a in actions if isinstance(a, act.ReplyCompleted)]
    assert [r.result.failure.code for r in replies] == [500]
    assert sc.status("inv_f").result.failure == pb.Failure(code=500, message="boom")
    sc.invoke("inv_t", "Greeter", "greet")
    fail(sc, "inv_t", 1, pb.Failure(code=1, message="a code of its own"))
    assert sc.status("inv_t").result.failure.code == 1


def test_completing_an_invocation_forgets_a_pending_cancellation(sc: Scenario) -> None:
    sc.invoke("inv_c", "Greeter", "greet")
    sc.apply(
        rec.Envelope(
            invocation_command=rec.InvocationCommand(invocation_id="inv_c", command=rec.CANCEL)
        )
    )
    assert sc.status("inv_c").cancel_requested
    sc.output("inv_c", 1, b"1")
    assert not sc.status("inv_c").cancel_requested


def test_an_invocation_attached_from_a_journal_completes_the_attaching_entry(
    sc: Scenario,
) -> None:
    sc.invoke("inv_t", "Greeter", "greet")
    sc.invoke("inv_w", "Greeter", "greet")
    attach = pb.JournalEntry(attach_invocation=pb.AttachInvocation(invocation_id="inv_t"))
    sc.effect("inv_w", (1, attach))
    actions = sc.output("inv_t", 1, b"42")
    assert act.Completion("inv_w", 1, pb.Result(value=b"42"), "inv_t") in actions
    entry = tables.get_journal_entry(sc.store, "inv_w", 1)
    assert entry is not None and entry.completion == pb.Result(value=b"42")
    assert entry.completion_invocation_id == "inv_t"


def test_a_completed_queued_invocation_is_skipped_and_the_next_one_gets_the_key(
    sc: Scenario,
) -> None:
    sc.invoke("inv_1", "Counter", "add", key="k")
    sc.invoke("inv_2", "Counter", "add", key="k")
    sc.invoke("inv_3", "Counter", "add", key="k")
    cancel = rec.InvocationCommand(invocation_id="inv_2", command=rec.CANCEL)
    sc.apply(rec.Envelope(invocation_command=cancel))  # completes the queued inv_2 at once
    actions = sc.output("inv_1", 1, b"1")
    invokes = [a for a in actions if isinstance(a, act.Invoke)]
    assert invokes == [act.Invoke("inv_3")]
    assert invokes[0].status is not None and invokes[0].status.phase == st.INVOKED
    assert sc.status("inv_3").phase == st.INVOKED
    assert sc.status("inv_2").phase == st.COMPLETED


def test_a_running_caller_is_told_which_callee_completed_its_call(sc: Scenario) -> None:
    sc.invoke("inv_c", "Greeter", "greet")
    call = pb.JournalEntry(call=pb.Call(service="Greeter", handler="greet", argument=b"1"))
    sc.effect("inv_c", (1, call))
    child = ids.child_invocation_id("inv_c", 1, None)
    actions = sc.output(child, 1, b"7")
    assert act.Completion("inv_c", 1, pb.Result(value=b"7"), child) in actions
