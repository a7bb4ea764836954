"""The attempt machine, message-in / messages-out: eager state, replay and journal mismatch."""

from __future__ import annotations

import pytest

from perdure._machine import AttemptMachine, Closed, Phase
from perdure._testing import get_state, kinds, set_state, start
from perdure.exceptions import AttemptStopped
from perdure_proto import protocol_pb2 as pb


def machine(
    journal: tuple[pb.JournalEntry, ...] = (), state: dict[str, bytes] | None = None
) -> AttemptMachine:
    return AttemptMachine(
        "inv-1", 1, start("Counter", "add", key="k", journal=journal, state=state)
    )


def test_new_get_answers_from_eager_state_and_journals_the_value() -> None:
    m = machine(state={"count": b"41"})
    assert m.get_state("count") == b"41"
    assert m.get_state("missing") is None
    out = m.take_outbox()
    assert kinds(out) == ["command:get_state@1", "command:get_state@2"]
    assert out[0].command.entry.get_state.value == b"41"
    assert not out[1].command.entry.get_state.HasField("value")
    assert all(o.invocation_id == "inv-1" and o.attempt == 1 for o in out)


def test_get_sees_this_attempts_own_writes() -> None:
    m = machine(state={"count": b"1"})
    m.set_state("count", b"2")
    assert m.get_state("count") == b"2"
    m.clear_state("count")
    assert m.get_state("count") is None
    m.set_state("a", b"1")
    m.set_state("b", b"2")
    assert m.state_keys() == ["a", "b"]
    m.clear_all_state()
    assert m.state_keys() == []
    assert kinds(m.take_outbox()) == [
        "command:set_state@1",
        "command:get_state@2",
        "command:clear_state@3",
        "command:get_state@4",
        "command:set_state@5",
        "command:set_state@6",
        "command:get_state_keys@7",
        "command:clear_all_state@8",
        "command:get_state_keys@9",
    ]


def test_replayed_get_returns_the_recorded_value_not_the_current_state() -> None:
    m = machine(journal=(get_state("count", b"1"), set_state("count", b"2")), state={"count": b"2"})
    phases = [m.phase]
    assert m.get_state("count") == b"1"
    m.set_state("count", b"2")
    phases.append(m.phase)
    assert phases == [Phase.REPLAYING, Phase.PROCESSING]
    assert m.take_outbox() == []
    assert m.get_state("count") == b"2"
    assert kinds(m.take_outbox()) == ["command:get_state@3"]


def test_mismatch_fails_the_attempt_with_570_naming_index_and_both_operations() -> None:
    m = machine(journal=(get_state("count", b"1"),))
    with pytest.raises(AttemptStopped):
        m.set_state("count", b"5")
    out = m.take_outbox()
    assert kinds(out) == ["error:570"]
    error = out[0].error
    assert error.related_index == 1
    assert "index 1" in error.message
    assert "recorded GetState(key='count')" in error.message
    assert "attempted SetState(key='count')" in error.message
    assert m.closed is Closed.FAILED
    with pytest.raises(AttemptStopped):
        m.get_state("count")
    assert m.take_outbox() == []


def test_mismatch_on_a_different_key_is_detected() -> None:
    m = machine(journal=(get_state("count", b"1"),))
    with pytest.raises(AttemptStopped):
        m.get_state("total")
    assert "attempted GetState(key='total')" in m.take_outbox()[0].error.message


def test_output_then_end_closes_the_attempt() -> None:
    m = machine()
    m.output(pb.Result(value=b'"hi"'))
    out = m.take_outbox()
    assert kinds(out) == ["command:output@1", "end"]
    assert m.closed is Closed.ENDED


def test_abort_sends_nothing_more() -> None:
    m = machine()
    m.set_state("a", b"1")
    m.abort()
    assert m.take_outbox() == []
    with pytest.raises(AttemptStopped):
        m.set_state("a", b"2")


def test_partial_state_read_of_an_unknown_key_is_refused_not_guessed() -> None:
    st = start("Counter", "add", key="k", state={"a": b"1"})
    st.partial_state = True
    m = AttemptMachine("inv-1", 1, st)
    assert m.get_state("a") == b"1"
    with pytest.raises(AttemptStopped):
        m.get_state("b")
    assert kinds(m.take_outbox()) == ["command:get_state@1", "error:573"]
