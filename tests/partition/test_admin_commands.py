"""Admin commands in the state machine: Restate's codes for commands on completed invocations,
restart-as-new's lineage, bulk commands selected from the store, and service changes."""

from __future__ import annotations

from partition import actions as act
from perdure_proto import protocol_pb2 as pb
from perdure_proto import records_pb2 as rec
from perdure_proto import storage_pb2 as st
from tests.partition.scenario import Scenario, manifest


def command(sc: Scenario, invocation_id: str, which: rec.Command) -> list[act.Action]:
    cmd = rec.InvocationCommand(
        invocation_id=invocation_id,
        command=which,
        reply=rec.Reply(request_id=9),
        new_invocation_id="inv_new",
    )
    return sc.apply(rec.Envelope(invocation_command=cmd))


def bulk(sc: Scenario, which: rec.Command, f: rec.InvocationFilter, limit: int = 0) -> int:
    cmd = rec.BulkInvocationCommand(
        command=which, filter=f, reply=rec.Reply(request_id=7), limit=limit
    )
    actions = sc.apply(rec.Envelope(bulk_invocation_command=cmd))
    (reply,) = [a for a in actions if isinstance(a, act.ReplyDone | act.ReplyRejected)]
    assert isinstance(reply, act.ReplyDone), reply
    return reply.affected


def schedule(sc: Scenario, invocation_id: str, service: str, handler: str, key: str = "") -> None:
    at = sc.now_ms + 3_600_000
    invoke = rec.Invoke(
        invocation_id=invocation_id, service=service, handler=handler, key=key, execution_time_ms=at
    )
    sc.apply(rec.Envelope(invoke=invoke))


def test_cancelling_or_killing_a_completed_invocation_is_refused_with_409(sc: Scenario) -> None:
    sc.invoke("inv_done", "Greeter", "greet")
    sc.output("inv_done", 1, b"1")
    for which in (rec.CANCEL, rec.KILL):
        (reply,) = command(sc, "inv_done", which)
        assert isinstance(reply, act.ReplyRejected)
        assert (reply.code, reply.message) == (409, "invocation inv_done has already completed")
    assert sc.status("inv_done").result.value == b"1"


def test_restart_as_new_records_the_invocation_it_restarts(sc: Scenario) -> None:
    sc.invoke("inv_old", "Greeter", "greet")
    sc.output("inv_old", 1, b"1")
    assert act.ReplyDone(9, "inv_old", 200, "inv_new") in command(sc, "inv_old", rec.RESTART_AS_NEW)
    assert sc.status("inv_new").restarted_from == "inv_old"


def test_bulk_cancel_completes_every_matching_invocation_in_one_record(sc: Scenario) -> None:
    for i in range(50):
        schedule(sc, f"inv_g{i:02}", "Greeter", "greet")
    schedule(sc, "inv_c", "Counter", "add", key="k")
    sc.invoke("inv_run", "Greeter", "greet")
    f = rec.InvocationFilter(service="Greeter", statuses=["scheduled"])
    assert bulk(sc, rec.CANCEL, f) == 50
    assert all(sc.status(f"inv_g{i:02}").result.failure.code == 409 for i in range(50))
    assert sc.status("inv_c").phase == st.SCHEDULED  # another service
    assert sc.status("inv_run").phase == st.INVOKED  # another status
    assert bulk(sc, rec.CANCEL, f) == 0  # nothing matches any more: safe to repeat


def test_bulk_commands_skip_invocations_they_do_not_apply_to(sc: Scenario) -> None:
    sc.invoke("inv_done", "Greeter", "greet")
    sc.output("inv_done", 1, b"1")
    schedule(sc, "inv_later", "Greeter", "greet")
    every_greet = rec.InvocationFilter(service="Greeter", handler="greet")
    assert bulk(sc, rec.KILL, every_greet) == 1  # the completed one is not killed again
    assert bulk(sc, rec.PURGE, every_greet) == 2  # both have completed now
    assert bulk(sc, rec.PURGE, every_greet) == 0


def test_bulk_filters_by_key_creation_time_and_limit(sc: Scenario) -> None:
    for i in range(6):
        sc.now_ms += 1000
        schedule(sc, f"inv_{i}", "Counter", "add", key="a" if i % 2 else "b")
    by_key = rec.InvocationFilter(service="Counter", has_key=True, key="a")
    first_two = rec.InvocationFilter(service="Counter", created_before_ms=1_000_000 + 2500)
    assert bulk(sc, rec.KILL, first_two) == 2  # inv_0, inv_1
    assert bulk(sc, rec.KILL, by_key, limit=1) == 1  # inv_3 (inv_1 is gone)
    assert bulk(sc, rec.KILL, by_key) == 1  # inv_5
    assert sc.status("inv_2").phase == sc.status("inv_4").phase == st.SCHEDULED


def test_a_service_change_applies_until_a_registration_changes_the_service(
    sc: Scenario,
) -> None:
    options = pb.Options(idempotency_retention_ms=5000, ingress_private=True)
    options.retry_policy.max_attempts = 3
    assert act.SchemaChanged() in sc.apply(
        rec.Envelope(modify_service=rec.ModifyService(service="Greeter", options=options))
    )
    changed = sc.sm.schema.services["Greeter"].spec.options
    assert (changed.idempotency_retention_ms, changed.ingress_private) == (5000, True)
    assert changed.retry_policy.max_attempts == 3
    sc.register()  # the same deployment again, unchanged: a no-op, the change stays
    sc.reopen()  # and it was stored, not only cached
    row = sc.sm.schema.services["Greeter"]
    assert (row.revision, row.spec.options.idempotency_retention_ms) == (1, 5000)
    m = manifest()
    m.services[0].options.abort_timeout_ms = 1234
    register = rec.RegisterDeployment(deployment_id="dp_1", uri="http://127.0.0.1:9080", manifest=m)
    sc.apply(rec.Envelope(register_deployment=register))
    row = sc.sm.schema.services["Greeter"]  # a new revision: the deployment's settings, as Restate
    assert row.revision == 2
    assert row.spec.options == pb.Options(abort_timeout_ms=1234)
