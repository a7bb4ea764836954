"""Timers, calls, awakeables, promises, suspension, cancel and kill in the state machine."""

from __future__ import annotations

import pytest

from partition import actions as act
from partition import ids, tables
from perdure_proto import protocol_pb2 as pb
from perdure_proto import records_pb2 as rec
from perdure_proto import storage_pb2 as st
from tests.partition.scenario import Scenario

VOID = pb.Result(void=pb.Void())


def sleep(wake_ms: int) -> pb.JournalEntry:
    return pb.JournalEntry(sleep=pb.Sleep(wake_up_time_ms=wake_ms))


def suspend(sc: Scenario, invocation_id: str, *waiting_on: int) -> list[act.Action]:
    effect = rec.InvokerEffect(invocation_id=invocation_id, attempt=1)
    effect.suspension.waiting_on.extend(waiting_on)
    effect.suspension.SetInParent()
    return sc.apply(rec.Envelope(invoker_effect=effect))


def fire(sc: Scenario, wake_ms: int, invocation_id: str, index: int) -> list[act.Action]:
    cmd = rec.TimerFired(wake_up_time_ms=wake_ms, invocation_id=invocation_id, index=index)
    return sc.apply(rec.Envelope(timer_fired=cmd))


def test_sleep_registers_a_timer_and_its_firing_resumes_the_suspended_invocation(
    sc: Scenario,
) -> None:
    sc.invoke("inv_s", "Greeter", "greet")
    wake = sc.now_ms + 10_000
    assert sc.effect("inv_s", (1, sleep(wake))) == [
        act.RegisterTimer(wake, "inv_s", 1),
        act.Ack("inv_s", 1, 1),
    ]
    assert suspend(sc, "inv_s", 1) == [act.Ended("inv_s")]
    assert sc.status("inv_s").phase == st.SUSPENDED
    assert tables.active_invocations(sc.store) == []
    assert fire(sc, wake, "inv_s", 1) == [act.Invoke("inv_s")]
    assert sc.status("inv_s").phase == st.INVOKED
    entry = tables.get_journal_entry(sc.store, "inv_s", 1)
    assert entry is not None and entry.completion == VOID
    assert fire(sc, wake, "inv_s", 1) == []  # a timer fires once


def test_suspension_on_an_already_completed_entry_resumes_at_once(sc: Scenario) -> None:
    sc.invoke("inv_s", "Greeter", "greet")
    sc.effect("inv_s", (1, sleep(sc.now_ms)))
    assert fire(sc, sc.now_ms, "inv_s", 1) == [act.Completion("inv_s", 1, VOID)]
    assert suspend(sc, "inv_s", 1) == [act.Invoke("inv_s")]
    assert sc.status("inv_s").phase == st.INVOKED


def test_a_call_starts_the_callee_and_its_result_completes_the_caller_entry(
    sc: Scenario,
) -> None:
    sc.invoke("inv_c", "Greeter", "greet")
    call = pb.JournalEntry(call=pb.Call(service="Counter", handler="add", key="k", argument=b"1"))
    actions = sc.effect("inv_c", (1, call))
    child = ids.child_invocation_id("inv_c", 1, "k")
    # The call's StartInvocation is applied when the caller's record is done: same write.
    assert actions == [
        act.Completion("inv_c", 1, pb.Result(), child),
        act.Ack("inv_c", 1, 1),
        act.Invoke(child),
    ]
    suspend(sc, "inv_c", 1)
    actions = sc.output(child, 1, b"7")
    assert act.Invoke("inv_c") in actions  # the suspended caller resumes
    entry = tables.get_journal_entry(sc.store, "inv_c", 1)
    assert entry is not None
    assert entry.completion == pb.Result(value=b"7")
    assert entry.completion_invocation_id == child


def test_sends_to_one_key_are_admitted_in_journal_order(sc: Scenario) -> None:
    sc.invoke("inv_p", "Greeter", "greet")
    sends = [
        (i, pb.JournalEntry(send=pb.Send(service="Counter", handler="add", key="k")))
        for i in (1, 2, 3)
    ]
    sc.effect("inv_p", *sends)
    children = [ids.child_invocation_id("inv_p", i, "k") for i in (1, 2, 3)]
    assert [sc.status(c).phase for c in children] == [st.INVOKED, st.INBOXED, st.INBOXED]
    assert act.Invoke(children[1]) in sc.output(children[0], 1, b"1")


def test_awakeable_resolved_from_the_ingress(sc: Scenario) -> None:
    sc.invoke("inv_a", "Greeter", "greet")
    sc.effect("inv_a", (1, pb.JournalEntry(awakeable=pb.Awakeable())))
    suspend(sc, "inv_a", 1)
    awakeable_id = ids.awakeable_id("inv_a", 1)
    cmd = rec.ResolveAwakeable(
        awakeable_id=awakeable_id,
        result=pb.Result(value=b'"ok"'),
        reply=rec.Reply(request_id=9),
    )
    actions = sc.apply(rec.Envelope(resolve_awakeable=cmd))
    assert actions == [act.Invoke("inv_a"), act.ReplyAccepted(9, "inv_a", previously=False)]


def _promise(kind: str, key: str, value: bytes | None = None) -> pb.JournalEntry:
    if kind == "get":
        return pb.JournalEntry(get_promise=pb.GetPromise(key=key))
    if kind == "peek":
        return pb.JournalEntry(peek_promise=pb.PeekPromise(key=key))
    return pb.JournalEntry(
        complete_promise=pb.CompletePromise(key=key, result=pb.Result(value=value or b""))
    )


def test_workflow_promise_completes_once_and_wakes_its_waiter(sc: Scenario) -> None:
    sc.invoke("inv_w", "Signup", "run", key="w")
    sc.effect("inv_w", (1, _promise("get", "approval")))
    suspend(sc, "inv_w", 1)
    sc.invoke("inv_h", "Signup", "approve", key="w")
    actions = sc.effect("inv_h", (1, _promise("complete", "approval", b'"yes"')))
    assert act.Invoke("inv_w") in actions
    assert act.Completion("inv_h", 1, VOID) in actions
    waiting = tables.get_journal_entry(sc.store, "inv_w", 1)
    assert waiting is not None and waiting.completion == pb.Result(value=b'"yes"')
    again = sc.effect("inv_h", (2, _promise("complete", "approval", b'"no"')))
    conflict = next(a for a in again if isinstance(a, act.Completion))
    assert (conflict.result.failure.code, conflict.result.failure.message) == (
        409,
        "promise was already completed",
    )
    peek = sc.effect("inv_h", (3, _promise("peek", "approval")))
    assert act.Completion("inv_h", 3, pb.Result(value=b'"yes"')) in peek


def test_promises_outside_workflows_fail(sc: Scenario) -> None:
    sc.invoke("inv_g", "Greeter", "greet")
    actions = sc.effect("inv_g", (1, _promise("get", "p")))
    completion = next(a for a in actions if isinstance(a, act.Completion))
    assert completion.result.failure.code == 400


def test_kill_completes_with_409_and_kills_pending_calls(sc: Scenario) -> None:
    sc.invoke("inv_k", "Greeter", "greet", request_id=5)
    call = pb.JournalEntry(call=pb.Call(service="Greeter", handler="greet"))
    sc.effect("inv_k", (1, call))
    child = ids.child_invocation_id("inv_k", 1, None)
    cmd = rec.InvocationCommand(
        invocation_id="inv_k", command=rec.KILL, reply=rec.Reply(request_id=6)
    )
    actions = sc.apply(rec.Envelope(invocation_command=cmd))
    assert act.Ended(child, abort=True, completed=True) in actions
    assert act.Ended("inv_k", abort=True, completed=True) in actions
    assert act.ReplyDone(6, "inv_k", 200) in actions
    killed = [a for a in actions if isinstance(a, act.ReplyCompleted)]
    assert [(r.request_id, r.result.failure.code, r.result.failure.message) for r in killed] == [
        (5, 409, "killed")
    ]
    assert sc.status(child).result.failure.message == "killed"


def test_cancel_is_delivered_to_a_running_invocation_and_resumes_a_suspended_one(
    sc: Scenario,
) -> None:
    sc.invoke("inv_r", "Greeter", "greet")
    cancel = rec.InvocationCommand(invocation_id="inv_r", command=rec.CANCEL)
    assert sc.apply(rec.Envelope(invocation_command=cancel))[0] == act.Cancel("inv_r")
    assert sc.status("inv_r").cancel_requested
    sc.invoke("inv_z", "Greeter", "greet")
    sc.effect("inv_z", (1, sleep(sc.now_ms + 60_000)))
    suspend(sc, "inv_z", 1)
    cancel = rec.InvocationCommand(invocation_id="inv_z", command=rec.CANCEL)
    assert sc.apply(rec.Envelope(invocation_command=cancel))[0] == act.Invoke("inv_z")


def test_cancel_of_an_inboxed_invocation_completes_it_at_once(sc: Scenario) -> None:
    sc.invoke("inv_1", "Counter", "add", key="k")
    sc.invoke("inv_2", "Counter", "add", key="k", request_id=3)
    cancel = rec.InvocationCommand(invocation_id="inv_2", command=rec.CANCEL)
    actions = sc.apply(rec.Envelope(invocation_command=cancel))
    replies = [a for a in actions if isinstance(a, act.ReplyCompleted)]
    assert replies[0].result.failure.code == 409
    assert act.Invoke("inv_2") not in sc.output("inv_1", 1, b"1")


def test_delayed_invoke_is_scheduled_then_admitted_by_its_timer(sc: Scenario) -> None:
    at = sc.now_ms + 5000
    cmd = rec.Invoke(
        invocation_id="inv_d", service="Greeter", handler="greet", execution_time_ms=at
    )
    assert sc.apply(rec.Envelope(invoke=cmd)) == [act.RegisterTimer(at, "inv_d", 0)]
    assert sc.status("inv_d").phase == st.SCHEDULED
    assert fire(sc, at, "inv_d", 0) == [act.Invoke("inv_d")]


def test_expired_completions_are_purged(sc: Scenario) -> None:
    sc.invoke("inv_e", "Greeter", "greet")
    sc.output("inv_e", 1, b"1")
    sc.now_ms += 24 * 3600 * 1000
    sc.apply(rec.Envelope(purge_expired=rec.PurgeExpired(invocation_ids=["inv_e"])))
    with pytest.raises(LookupError):
        sc.status("inv_e")


def test_a_call_made_after_a_cancellation_request_is_cancelled_too(sc: Scenario) -> None:
    sc.invoke("inv_x", "Counter", "add", key="k")
    sc.apply(
        rec.Envelope(
            invocation_command=rec.InvocationCommand(invocation_id="inv_x", command=rec.CANCEL)
        )
    )
    call = pb.JournalEntry(call=pb.Call(service="Counter", handler="add", key="k"))
    sc.effect("inv_x", (1, call))
    child = ids.child_invocation_id("inv_x", 1, "k")
    assert sc.status(child).result.failure.code == 409  # inboxed behind its caller: cancelled
    entry = tables.get_journal_entry(sc.store, "inv_x", 1)
    assert entry is not None and entry.completion.failure.code == 409
    marker = pb.JournalEntry(cancelled=pb.Cancelled())
    sc.effect("inv_x", (2, marker), (3, call))  # observed: later calls (compensations) run
    assert sc.status(ids.child_invocation_id("inv_x", 3, "k")).phase == st.INBOXED
