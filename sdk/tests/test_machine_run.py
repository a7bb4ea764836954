"""The attempt machine and ``ctx.run``: durability before observation, replay, ordering."""

from __future__ import annotations

from perdure._machine import AttemptMachine, Handle
from perdure._testing import failure, kinds, run, start, value
from perdure_proto import protocol_pb2 as pb


def machine(*journal: pb.JournalEntry) -> AttemptMachine:
    return AttemptMachine("inv-1", 3, start("Steps", "run3", journal=journal))


def test_new_run_result_is_journaled_but_not_observable_until_acked() -> None:
    m = machine()
    ticket = m.run("step")
    assert not ticket.replayed
    assert m.runs_in_flight()
    m.complete_run(ticket.index, value(b"1"))
    out = m.take_outbox()
    assert kinds(out) == ["command:run@1"]
    assert out[0].command.entry.name == "step"
    assert out[0].attempt == 3
    assert not m.is_done(Handle(1))
    m.on_ack(0)
    assert not m.is_done(Handle(1))
    m.on_ack(1)
    assert m.is_done(Handle(1))
    assert m.result(Handle(1)).value == b"1"
    assert not m.runs_in_flight()


def test_replayed_run_returns_the_journaled_result_without_executing() -> None:
    m = machine(run("step", value(b"41")), run("boom", failure(400, "bad")))
    first = m.run("step")
    second = m.run("boom")
    assert first.replayed and second.replayed
    assert m.result(Handle(1)).value == b"41"
    assert m.result(Handle(2)).failure.code == 400
    assert m.take_outbox() == []


def test_run_with_another_name_on_replay_is_a_mismatch() -> None:
    m = machine(run("step-a", value(b"1")))
    try:
        m.run("step-b")
    except BaseException:
        pass
    error = m.take_outbox()[0].error
    assert error.code == 570
    assert "recorded Run(name='step-a')" in error.message
    assert "attempted Run(name='step-b')" in error.message


def test_commands_issued_while_a_run_executes_wait_for_its_result_to_keep_index_order() -> None:
    m = machine()
    slow = m.run("slow")
    m.set_state("x", b"1")
    assert m.take_outbox() == []
    m.complete_run(slow.index, value(b"9"))
    assert kinds(m.take_outbox()) == ["command:run@1", "command:set_state@2"]


def test_output_waits_for_a_pending_run_then_ends() -> None:
    m = machine()
    pending = m.run("never-awaited")
    m.output(pb.Result(void=pb.Void()))
    assert m.take_outbox() == []
    m.complete_run(pending.index, value(b""))
    assert kinds(m.take_outbox()) == ["command:run@1", "command:output@2", "end"]


def test_random_is_seeded_by_the_start_message() -> None:
    a = AttemptMachine("inv-1", 1, start("S", "h", seed=42))
    b = AttemptMachine("inv-1", 2, start("S", "h", seed=42))
    c = AttemptMachine("inv-1", 1, start("S", "h", seed=43))
    draws = [m.random.getrandbits(64) for m in (a, b, c)]
    assert draws[0] == draws[1] != draws[2]


def test_completions_complete_sleeps_and_calls_and_suspension_names_what_is_awaited() -> None:
    m = machine()
    sleep = m.sleep(5000)
    call = m.call(pb.Call(service="Greeter", handler="greet", argument=b'"x"'))
    assert kinds(m.take_outbox()) == ["command:sleep@1", "command:call@2"]
    m.on_completion(call, None, "inv-child")
    assert m.is_done(Handle(call, "invocation_id")) and not m.is_done(Handle(call))
    m.on_completion(sleep, pb.Result(void=pb.Void()), "")
    assert m.is_done(Handle(sleep))
    m.suspend([call])
    assert kinds(m.take_outbox()) == ["suspend:[2]"]


def test_replayed_completions_come_from_the_journal() -> None:
    done_call = pb.JournalEntry(
        call=pb.Call(service="Greeter", handler="greet"),
        completion=value(b'"hi"'),
        completion_invocation_id="inv-child",
    )
    m = machine(done_call)
    index = m.call(pb.Call(service="Greeter", handler="greet", argument=b'"x"'))
    assert m.result(Handle(index)).value == b'"hi"'
    assert m.invocation_id_of(index) == "inv-child"
