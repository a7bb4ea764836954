"""Within one leadership, a retried invocation's attempts must not mix: an Ack has to name the
attempt whose command it acknowledges, and an effect of an older attempt that lands after a newer
attempt started must not be applied (Restate fences by invocation epoch). Found by the
simulation (`python -m sim --seeds 120`: "observed-unjournaled" and "step-rerun"). The status
row carries an attempt fence, raised by every effect and by the barrier (an effect with no
commands) the invoker appends, and waits to see applied, before each retry's Start."""

from __future__ import annotations

from partition import actions as act
from partition import tables
from perdure_proto import protocol_pb2 as pb
from perdure_proto import records_pb2 as rec
from tests.partition.scenario import Scenario


def effect(attempt: int, index: int, value: bytes) -> rec.Envelope:
    envelope = rec.Envelope()
    e = envelope.invoker_effect
    e.invocation_id, e.attempt, e.deployment_id = "inv_r", attempt, "dp_1"
    e.commands.add(index=index, entry=pb.JournalEntry(run=pb.Run(result=pb.Result(value=value))))
    return envelope


def test_an_ack_names_the_attempt_whose_command_it_acknowledges(sc: Scenario) -> None:
    sc.invoke("inv_r", "Greeter", "greet")
    actions = sc.apply(effect(1, 1, b"first"))
    (ack,) = [a for a in actions if isinstance(a, act.Ack)]
    assert ack.attempt == 1


def test_an_older_attempts_late_effect_is_void_once_a_newer_one_started(sc: Scenario) -> None:
    sc.invoke("inv_r", "Greeter", "greet")
    barrier = rec.Envelope()
    barrier.invoker_effect.invocation_id, barrier.invoker_effect.attempt = "inv_r", 2
    assert sc.apply(barrier) == []  # the retry's barrier: nothing to acknowledge
    assert sc.apply(effect(1, 1, b"late")) == []  # attempt 1's effect, landing after it
    actions = sc.apply(effect(2, 1, b"mine"))
    assert act.Ack("inv_r", 1, 2) in actions
    entry = tables.get_journal_entry(sc.store, "inv_r", 1)
    assert entry is not None and entry.run.result.value == b"mine"


def test_a_new_leadership_numbers_its_attempts_afresh(sc: Scenario) -> None:
    sc.invoke("inv_r", "Greeter", "greet")
    sc.apply(effect(5, 1, b"old leader's"))
    announce = rec.Envelope(announce_leader=rec.AnnounceLeader(leader_id="b", epoch=7))
    sc.apply(announce)
    fresh = effect(1, 2, b"new leader's")
    fresh.leadership = 1  # the first leadership announced in this store
    assert act.Ack("inv_r", 2, 1) in sc.apply(fresh)


def announce(leader: str, term: int) -> rec.Envelope:
    return rec.Envelope(announce_leader=rec.AnnounceLeader(leader_id=leader, epoch=1, term=term))


def test_an_announcement_of_a_term_already_announced_starts_no_leadership(sc: Scenario) -> None:
    """pysyncobj forwards a command a deposed leader took as leader to its successor, so the
    deposed leader's announcement can reach the log after its successor's: it must not start a
    leadership (that would fence the real leader's unit until the next election)."""
    assert [a.leader_id for a in sc.apply(announce("a", 1)) if isinstance(a, act.LeaderAnnounced)]
    started = sc.apply(announce("b", 2))
    assert act.LeaderAnnounced("b", 1, 2) in started and tables.leadership(sc.store) == 2
    for stale in (announce("a", 1), announce("a", 2)):  # earlier term; the same term again
        assert not any(isinstance(a, act.LeaderAnnounced) for a in sc.apply(stale))
    assert tables.leadership(sc.store) == 2 and tables.announced_term(sc.store) == 2
    # A leadership's records still apply: b's unit was not fenced off by the stale ones.
    sc.invoke("inv_r", "Greeter", "greet")
    mine = effect(1, 1, b"b's")
    mine.leadership = 2
    assert act.Ack("inv_r", 1, 1) in sc.apply(mine)
    assert [a.leader_id for a in sc.apply(announce("c", 3)) if isinstance(a, act.LeaderAnnounced)]
