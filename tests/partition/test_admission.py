"""Admitting an invocation: its status row records what it was asked and when, and the Invoke
action carries that row to the leader."""

from __future__ import annotations

from partition import actions as act
from perdure_proto import storage_pb2 as st
from tests.partition.scenario import Scenario


def test_a_new_invocation_records_its_input_idempotency_key_and_times(sc: Scenario) -> None:
    actions = sc.invoke("inv_n", "Counter", "add", key="k", idempotency_key="once")
    status = sc.status("inv_n")
    assert (status.input, status.idempotency_key) == (b"1", "once")
    assert (status.created_at_ms, status.modified_at_ms) == (sc.now_ms, sc.now_ms)
    invokes = [a for a in actions if isinstance(a, act.Invoke)]
    assert invokes == [act.Invoke("inv_n")]
    assert invokes[0].status == status  # the leader need not read the row back
    assert invokes[0].status.phase == st.INVOKED
