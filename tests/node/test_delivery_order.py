"""A shuffle delivery must never leave a gap at its receiver: the receiver applies each
producer's messages once, by sequence number, dropping any number at or below the last one it
applied (partition/delivery.py), so if an earlier message were lost while a later one committed,
the earlier one's retry would be dropped for good. Found by the simulation (`python -m sim --seed
81 --append-all`: a send lost, a counter one short), when a delivery appended its messages as
concurrent records.

Now a round of messages to one group is one `Deliver` record (applied whole or not at all), and
`append_all` never appends a record after one whose append failed.
"""

from __future__ import annotations

from collections.abc import Awaitable
from pathlib import Path

import pytest

from log.api import Error as LogError
from log.memory import MemoryLog
from node import leader
from node.backend import Backend
from node.processor import PartitionProcessor
from node.proposer import Proposer
from partition import tables
from partition.schema import Schema
from partition.state_machine import StateMachine
from partition.store import Store
from perdure_proto import records_pb2 as rec
from tests.partition.scenario import Scenario


class FirstAppendFails(Proposer):
    def __init__(self, log_: MemoryLog) -> None:
        super().__init__(log_)
        self.proposed = 0

    def propose(self, envelope: rec.Envelope) -> Awaitable[int]:
        self.proposed += 1
        if self.proposed == 1:
            raise LogError("lost")
        return super().propose(envelope)


def delivery(producer: int, *seqs: int) -> rec.Envelope:
    envelope = rec.Envelope()
    envelope.deliver.producer = producer
    for seq in seqs:
        m = envelope.deliver.messages.add()
        m.seq = seq
        m.message.cancel_invocation = f"inv_{seq}"
    return envelope


async def test_append_all_appends_nothing_after_a_failed_append(tmp_path: Path) -> None:
    log_ = MemoryLog()
    await log_.start()
    store = Store(tmp_path / "store")
    try:
        proposer = FirstAppendFails(log_)
        processor = PartitionProcessor(
            log_, store, StateMachine(store), proposer, "a", 1, lambda: None, leader.Options()
        )
        backend = Backend(proposer, store, Schema(), processor)
        with pytest.raises(LogError):
            await backend.append_all([delivery(1, 7), delivery(1, 8)])
        assert proposer.proposed == 1  # the second record was never appended
    finally:
        store.close()


def test_a_round_is_applied_whole_and_its_retry_adds_only_what_is_new(tmp_path: Path) -> None:
    sc = Scenario(tmp_path / "store")
    sc.apply(delivery(1, 3, 5, 9))  # gaps: numbers of the producer's messages to others
    assert tables.applied_from(sc.store, 1) == 9
    sc.apply(delivery(1, 5, 9, 12))  # a retry that also carries a newer message
    assert tables.applied_from(sc.store, 1) == 12
    sc.apply(delivery(2, 1))  # producers are numbered apart
    assert (tables.applied_from(sc.store, 1), tables.applied_from(sc.store, 2)) == (12, 1)
    sc.store.close()
