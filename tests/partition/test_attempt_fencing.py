"""Within one leadership, a retried invocation's attempts must not mix: an Ack has to name the
attempt whose command it acknowledges, and an effect of an older attempt that lands after a newer
attempt started must not be applied (Restate fences by invocation epoch). Found by the
simulation (`python -m sim --seeds 120`: "observed-unjournaled" and "step-rerun"). Not built
yet: the next step is an attempt fence on the status row raised by a barrier record the invoker
appends (and waits to see applied) before each retry's Start."""

from __future__ import annotations

import pytest

from partition import actions as act
from perdure_proto import protocol_pb2 as pb
from perdure_proto import records_pb2 as rec
from tests.partition.scenario import Scenario


def effect(attempt: int, index: int, value: bytes) -> rec.Envelope:
    envelope = rec.Envelope()
    e = envelope.invoker_effect
    e.invocation_id, e.attempt, e.deployment_id = "inv_r", attempt, "dp_1"
    e.commands.add(index=index, entry=pb.JournalEntry(run=pb.Run(result=pb.Result(value=value))))
    return envelope


@pytest.mark.xfail(strict=True, reason="Ack does not name an attempt yet (see module docstring)")
def test_an_ack_names_the_attempt_whose_command_it_acknowledges(sc: Scenario) -> None:
    sc.invoke("inv_r", "Greeter", "greet")
    actions = sc.apply(effect(1, 1, b"first"))
    (ack,) = [a for a in actions if isinstance(a, act.Ack)]
    assert getattr(ack, "attempt", None) == 1
