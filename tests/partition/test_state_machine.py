from __future__ import annotations

import pytest

from partition import actions as act
from partition import tables
from perdure_proto import protocol_pb2 as pb
from perdure_proto import records_pb2 as rec
from perdure_proto import storage_pb2 as st
from tests.partition.scenario import Scenario, run, set_state


def test_call_runs_journals_and_replies_with_the_output(sc: Scenario) -> None:
    assert sc.invoke("inv_a", "Greeter", "greet", request_id=7) == [act.Invoke("inv_a")]
    assert sc.effect("inv_a", (1, run(b"42"))) == [act.Ack("inv_a", 1, 1)]
    actions = sc.output("inv_a", 2, b'"hi"')
    assert actions == [
        act.ReplyCompleted(7, "inv_a", pb.Result(value=b'"hi"'), "application/json", 0),
        act.Ended("inv_a", completed=True),
    ]
    status = sc.status("inv_a")
    assert status.phase == st.COMPLETED
    assert status.expires_at_ms == sc.now_ms + 24 * 3600 * 1000
    assert tables.journal_entries(sc.store, "inv_a") == []  # dropped once completed
    assert tables.active_invocations(sc.store) == []


def test_send_is_accepted_before_it_runs(sc: Scenario) -> None:
    actions = sc.invoke("inv_s", "Greeter", "greet", request_id=3, send=True)
    assert actions == [act.ReplyAccepted(3, "inv_s", previously=False), act.Invoke("inv_s")]
    assert tables.active_invocations(sc.store) == ["inv_s"]


def test_exclusive_handlers_queue_per_key_in_arrival_order(sc: Scenario) -> None:
    assert sc.invoke("inv_1", "Counter", "add", key="k") == [act.Invoke("inv_1")]
    assert sc.invoke("inv_2", "Counter", "add", key="k") == []
    assert sc.invoke("inv_3", "Counter", "add", key="k") == []
    assert sc.invoke("inv_o", "Counter", "add", key="other") == [act.Invoke("inv_o")]
    assert sc.status("inv_2").phase == st.INBOXED
    assert act.Invoke("inv_2") in sc.output("inv_1", 1, b"1")
    assert sc.status("inv_3").phase == st.INBOXED
    assert act.Invoke("inv_3") in sc.output("inv_2", 1, b"2")
    assert act.Invoke("inv_3") not in sc.output("inv_3", 1, b"3")
    assert tables.get_lock(sc.store, "Counter", "k") == st.KeyLock()  # free rows are dropped


def test_shared_handlers_run_while_the_key_is_held(sc: Scenario) -> None:
    sc.invoke("inv_x", "Counter", "add", key="k")
    assert sc.invoke("inv_g", "Counter", "get", key="k") == [act.Invoke("inv_g")]


def test_state_commands_of_exclusive_handlers_change_the_key_state(sc: Scenario) -> None:
    sc.invoke("inv_x", "Counter", "add", key="k")
    sc.effect("inv_x", (1, set_state("count", b"5")), (2, set_state("other", b"1")))
    clear = pb.JournalEntry(clear_state=pb.ClearState(key="other"))
    sc.effect("inv_x", (3, clear))
    assert sc.state("Counter", "k") == {"count": b"5"}
    sc.effect("inv_x", (4, pb.JournalEntry(clear_all_state=pb.ClearAllState())))
    sc.effect("inv_x", (5, set_state("after", b"2")))
    assert sc.state("Counter", "k") == {"after": b"2"}


def test_clear_all_and_set_in_one_effect_see_each_other(sc: Scenario) -> None:
    sc.invoke("inv_x", "Counter", "add", key="k")
    sc.effect("inv_x", (1, set_state("a", b"1")))
    clear_all = pb.JournalEntry(clear_all_state=pb.ClearAllState())
    sc.effect("inv_x", (2, clear_all), (3, set_state("b", b"2")))
    assert sc.state("Counter", "k") == {"b": b"2"}


def test_shared_handlers_cannot_write_state(sc: Scenario) -> None:
    sc.invoke("inv_g", "Counter", "get", key="k")
    sc.effect("inv_g", (1, set_state("count", b"9")))
    assert sc.state("Counter", "k") == {}


def test_repeated_and_out_of_order_commands_apply_once(sc: Scenario) -> None:
    sc.invoke("inv_a", "Greeter", "greet")
    assert sc.effect("inv_a", (1, run(b"1"))) == [act.Ack("inv_a", 1, 1)]
    assert sc.effect("inv_a", (1, run(b"other"))) == []
    assert sc.effect("inv_a", (3, run(b"gap"))) == []
    entries = tables.journal_entries(sc.store, "inv_a")
    assert [e.run.result.value for e in entries] == [b"1"]


def test_idempotent_repeat_of_a_send_is_previously_accepted(sc: Scenario) -> None:
    sc.invoke("inv_i", "Greeter", "greet", request_id=1, send=True, idempotency_key="x")
    actions = sc.invoke("inv_i", "Greeter", "greet", request_id=2, send=True, idempotency_key="x")
    assert actions == [act.ReplyAccepted(2, "inv_i", previously=True)]


def test_idempotent_call_after_completion_gets_the_stored_response(sc: Scenario) -> None:
    sc.invoke("inv_i", "Greeter", "greet", request_id=1, idempotency_key="x")
    sc.output("inv_i", 1, b'"done"')
    sc.now_ms += 5
    actions = sc.invoke("inv_i", "Greeter", "greet", request_id=2, idempotency_key="x")
    expires = sc.now_ms - 5 + 24 * 3600 * 1000
    assert actions == [
        act.ReplyCompleted(2, "inv_i", pb.Result(value=b'"done"'), "application/json", expires)
    ]


def test_idempotent_call_while_running_waits_for_the_same_result(sc: Scenario) -> None:
    sc.invoke("inv_i", "Greeter", "greet", request_id=1, idempotency_key="x")
    assert sc.invoke("inv_i", "Greeter", "greet", request_id=2, idempotency_key="x") == []
    replies = [a for a in sc.output("inv_i", 1, b"1") if isinstance(a, act.ReplyCompleted)]
    assert sorted(r.request_id for r in replies) == [1, 2]


def test_workflow_run_executes_once_per_key(sc: Scenario) -> None:
    assert sc.invoke("inv_w", "Signup", "run", key="w1", request_id=1) == [act.Invoke("inv_w")]
    actions = sc.invoke("inv_w", "Signup", "run", key="w1", request_id=2)
    assert actions == [
        act.ReplyRejected(2, "inv_w", 409, "the workflow method was already invoked")
    ]
    sent = sc.invoke("inv_w", "Signup", "run", key="w1", request_id=3, send=True)
    assert sent == [act.ReplyAccepted(3, "inv_w", previously=True)]


def test_attach_answers_now_or_when_completed(sc: Scenario) -> None:

    unknown = sc.apply(
        rec.Envelope(attach=rec.Attach(invocation_id="inv_no", reply=rec.Reply(request_id=1)))
    )
    assert unknown == [act.ReplyRejected(1, "inv_no", 404, "invocation not found")]
    sc.invoke("inv_a", "Greeter", "greet", send=True)
    assert (
        sc.apply(
            rec.Envelope(attach=rec.Attach(invocation_id="inv_a", reply=rec.Reply(request_id=2)))
        )
        == []
    )
    replies = [a for a in sc.output("inv_a", 1, b"1") if isinstance(a, act.ReplyCompleted)]
    assert [r.request_id for r in replies] == [2]


def test_unknown_handler_is_rejected_without_a_trace(sc: Scenario) -> None:
    actions = sc.invoke("inv_u", "Nope", "greet", request_id=4)
    assert actions == [act.ReplyRejected(4, "inv_u", 404, "handler Nope/greet is not registered")]
    with pytest.raises(LookupError):
        sc.status("inv_u")


def test_corrupt_record_is_skipped(sc: Scenario) -> None:
    txn = sc.store.transaction()
    assert sc.sm.apply(txn, b"\xff\xff\xff not a protobuf") == []


def test_applied_position_and_rows_survive_reopen(sc: Scenario) -> None:
    sc.invoke("inv_x", "Counter", "add", key="k")
    sc.effect("inv_x", (1, set_state("count", b"5")))
    lsn = sc.lsn
    sc.reopen()
    assert sc.store.applied_lsn() == lsn
    assert sc.state("Counter", "k") == {"count": b"5"}
    assert "Counter" in sc.sm.schema.services
    assert tables.active_invocations(sc.store) == ["inv_x"]


def test_reregistering_bumps_only_changed_services(sc: Scenario) -> None:
    assert sc.sm.schema.services["Greeter"].revision == 1
    sc.register()
    assert sc.sm.schema.services["Greeter"].revision == 1


def _registration(uri: str, *services: str) -> bytes:
    m = pb.Manifest(min_protocol_version=1, max_protocol_version=1)
    for name in services:
        m.services.add(name=name, ty=pb.SERVICE).handlers.add(name="greet")
    envelope = rec.Envelope(
        register_deployment=rec.RegisterDeployment(deployment_id="dp_2", uri=uri, manifest=m)
    )
    return envelope.SerializeToString()


def test_a_registration_changes_the_schema_only_when_its_batch_commits(sc: Scenario) -> None:
    schema = sc.sm.schema
    txn = sc.store.transaction()
    sc.sm.apply(txn, _registration("http://127.0.0.1:9", "Hello"))
    invoke = rec.Envelope(
        invoke=rec.Invoke(invocation_id="inv_h", service="Hello", handler="greet", input=b"1")
    )
    # A later record of the same batch sees the registration...
    assert sc.sm.apply(txn, invoke.SerializeToString()) == [act.Invoke("inv_h")]
    # ...the schema everyone else holds does not, until the batch is committed.
    assert "Hello" not in schema.services
    assert "Hello" not in sc.sm.schema.services
    txn.commit(sc.lsn + 1)
    assert sc.sm.schema is schema and "Hello" in schema.services


def test_an_abandoned_batch_leaves_the_schema_as_it_was(sc: Scenario) -> None:
    before = dict(sc.sm.schema.services)
    sc.sm.apply(sc.store.transaction(), _registration("http://127.0.0.1:9", "Ghost"))
    assert sc.sm.schema.services == before
    txn = sc.store.transaction()  # the next batch does not see the abandoned one's schema
    invoke = rec.Envelope(
        invoke=rec.Invoke(
            invocation_id="inv_g", service="Ghost", handler="greet", reply=rec.Reply(request_id=5)
        )
    )
    (reply,) = sc.sm.apply(txn, invoke.SerializeToString())
    assert isinstance(reply, act.ReplyRejected) and reply.code == 404
    assert tables.all_services(sc.store) == tables.all_services(txn)


def test_safe_trim_only_moves_forward_and_survives_a_restart(sc: Scenario) -> None:
    assert tables.safe_trim(sc.store) is None
    for up_to, expected in ((100, 100), (50, 100), (300, 300)):
        assert sc.apply(rec.Envelope(safe_trim=rec.SafeTrim(up_to_lsn=up_to))) == []
        assert tables.safe_trim(sc.store) == expected
    sc.reopen()
    assert tables.safe_trim(sc.store) == 300
