"""The attempt machine alone: cancellation markers, await numbering, suspension preconditions,
promise and invocation commands."""

from __future__ import annotations

import pytest

from perdure._machine import AttemptMachine, Handle
from perdure._testing import completed, kinds, run, start, value, void
from perdure_proto import protocol_pb2 as pb


def machine(*journal: pb.JournalEntry, cancelled: bool = False) -> AttemptMachine:
    return AttemptMachine("inv-1", 1, start("Trip", "saga", journal=journal, cancelled=cancelled))


def marker(ordinal: int) -> pb.JournalEntry:
    return pb.JournalEntry(name=f"perdure:await#{ordinal}", cancelled=pb.Cancelled())


def test_awaits_are_numbered_per_next_journal_index() -> None:
    m = machine()
    assert m.await_point() == (1, 1)
    assert m.await_point() == (1, 2)
    m.set_state("k", b"1")
    assert m.await_point() == (2, 1)


def test_a_pending_cancellation_is_journaled_at_the_first_await_only() -> None:
    m = machine()
    assert not m.cancellation_at(m.await_point()[1])
    m.on_cancel()
    assert m.cancel_pending
    assert m.cancellation_at(m.await_point()[1])
    out = m.take_outbox()
    assert kinds(out) == ["command:cancelled@1"]
    assert out[0].command.entry.name == "perdure:await#2"
    assert not m.cancel_pending
    assert not m.cancellation_at(m.await_point()[1])


def test_start_cancelled_is_pending_unless_the_journal_observed_it() -> None:
    assert machine(cancelled=True).cancel_pending
    assert not machine(marker(1), cancelled=True).cancel_pending
    assert not machine(cancelled=False).cancel_pending


def test_replay_observes_the_marker_at_its_await_number_and_not_before() -> None:
    m = machine(run("a", value(b"1")), marker(2), run("undo", value(b"2")))
    m.run("a")
    assert not m.cancellation_at(m.await_point()[1])
    assert m.is_replaying
    assert m.cancellation_at(m.await_point()[1])
    assert m.run("undo").replayed
    assert m.take_outbox() == []


def test_pending_cancellation_waits_until_the_replay_is_over() -> None:
    m = machine(run("a", value(b"1")), run("b", value(b"2")), cancelled=True)
    m.run("a")
    assert not m.cancellation_at(m.await_point()[1])
    m.run("b")
    assert m.cancellation_at(m.await_point()[1])
    assert kinds(m.take_outbox()) == ["command:cancelled@3"]


def test_a_blocked_await_keeps_its_number_until_a_command_is_issued() -> None:
    m = machine()
    index, ordinal = m.await_point()
    assert m.ordinal_for(index, ordinal) == 1
    m.set_state("k", b"1")
    assert m.ordinal_for(index, ordinal) == 1
    m.await_point()
    assert m.ordinal_for(index, ordinal) == 2


def test_cancel_after_the_attempt_closed_is_ignored() -> None:
    m = machine()
    m.suspend([])
    m.on_cancel()
    assert not m.cancel_pending
    assert not m.cancellation_at(1)


def test_suspending_waits_for_run_actions_but_not_for_acks() -> None:
    m = machine()
    ticket = m.run("a")
    with pytest.raises(RuntimeError):
        m.suspend([])
    m.complete_run(ticket.index, value(b"1"))
    m.suspend([])
    assert kinds(m.take_outbox()) == ["command:run@1", "suspend:[]"]


def test_promise_and_invocation_commands_complete_from_the_journal() -> None:
    get = pb.JournalEntry(get_promise=pb.GetPromise(key="p"))
    peek = pb.JournalEntry(peek_promise=pb.PeekPromise(key="p"))
    attach = pb.JournalEntry(attach_invocation=pb.AttachInvocation(invocation_id="inv_t"))
    m = machine(completed(get, value(b"1")), completed(peek, void()), attach)
    assert m.is_done(Handle(m.get_promise("p")))
    assert m.result(Handle(m.peek_promise("p"))).WhichOneof("result") == "void"
    assert not m.is_done(Handle(m.attach_invocation("inv_t")))
    m.cancel_invocation("inv_t")
    index = m.complete_promise("p", value(b"2"))
    assert kinds(m.take_outbox()) == ["command:cancel_invocation@4", "command:complete_promise@5"]
    m.on_completion(index, void(), "")
    assert m.is_done(Handle(index))
