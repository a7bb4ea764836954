"""A pause leaves a notice for the pause webhook, in the same write batch; PauseNotified drops
it, but never the notice of a later pause of the same invocation."""

from __future__ import annotations

from pathlib import Path

from partition import actions as act
from partition import tables
from perdure_proto import protocol_pb2 as pb
from perdure_proto import records_pb2 as rec
from tests.partition.scenario import Scenario


def pause(sc: Scenario, invocation_id: str) -> list[act.Action]:
    failure = pb.Failure(code=500, message="boom")
    return sc.apply(
        rec.Envelope(
            pause_invocation=rec.PauseInvocation(invocation_id=invocation_id, last_failure=failure)
        )
    )


def notified(sc: Scenario, invocation_id: str, paused_at_ms: int) -> None:
    done = rec.PauseNotified(invocation_ids=[invocation_id], paused_at_ms=[paused_at_ms])
    sc.apply(rec.Envelope(pause_notified=done))


def test_a_pause_leaves_a_notice_that_survives_a_restart_until_notified(tmp_path: Path) -> None:
    sc = Scenario(tmp_path)
    sc.register()
    sc.invoke("inv_a", "Counter", "add", key="alice", send=True)
    assert tables.pause_notices(sc.store) == []
    actions = pause(sc, "inv_a")
    paused = [a for a in actions if isinstance(a, act.Paused)]
    assert [(p.invocation_id, p.key, p.keyed, p.failure_code) for p in paused] == [
        ("inv_a", "alice", True, 500)
    ]
    assert tables.pause_notices(sc.store) == [("inv_a", sc.now_ms)]
    sc.reopen()
    assert tables.pause_notices(sc.store) == [("inv_a", sc.now_ms)]
    notified(sc, "inv_a", sc.now_ms)
    assert tables.pause_notices(sc.store) == []


def test_a_notified_older_pause_does_not_drop_the_notice_of_a_later_one(tmp_path: Path) -> None:
    sc = Scenario(tmp_path)
    sc.register()
    sc.invoke("inv_a", "Greeter", "greet", send=True)
    pause(sc, "inv_a")
    first = sc.now_ms
    resume = rec.InvocationCommand(invocation_id="inv_a", command=rec.RESUME)
    sc.now_ms += 5_000
    sc.apply(rec.Envelope(invocation_command=resume))
    pause(sc, "inv_a")
    assert tables.pause_notices(sc.store) == [("inv_a", first + 5_000)]
    notified(sc, "inv_a", first)  # the push of the first pause ends after the second pause
    assert tables.pause_notices(sc.store) == [("inv_a", first + 5_000)]
    notified(sc, "inv_a", first + 5_000)
    assert tables.pause_notices(sc.store) == []
