"""Turns Raft leadership into partition leadership, and its loss into stepping down.

Whenever Raft elects this member (a new term in which it leads), it appends `AnnounceLeader`;
the partition processor starts a leader unit when it applies that record (node.processor). When
Raft deposes this member, the unit is stopped at once, without waiting for the successor's
announcement to arrive (a member cut off from the others may never see it): anything the old
unit still proposes is refused by Raft (not the leader) or by every replica (fenced by
leadership number), so stopping early is only about not calling deployments for nothing.
"""

from __future__ import annotations

import logging

from log.api import Error as LogError
from log.raft import RaftLog
from node.clock import SYSTEM, Clock
from node.processor import PartitionProcessor
from node.proposer import Proposer
from perdure_proto import records_pb2 as rec

log = logging.getLogger(__name__)

PERIOD_S = 0.02  # how often Raft's role is looked at: bounds the added failover time


class Campaign:
    def __init__(
        self,
        raft: RaftLog,
        proposer: Proposer,
        processor: PartitionProcessor,
        leader_id: str,
        epoch: int,
        clock: Clock = SYSTEM,
        period_s: float = PERIOD_S,
    ) -> None:
        self._raft = raft
        self._proposer = proposer
        self._processor = processor
        self._leader_id = leader_id
        self._epoch = epoch
        self._clock = clock
        self._period_s = period_s

    async def run(self) -> None:
        """Until cancelled."""
        announced_term: int | None = None
        while True:
            if self._raft.is_leader():
                term = self._raft.status().term
                if term != announced_term and await self._announce(term):
                    announced_term = term
            else:
                announced_term = None
                if self._processor.active:
                    log.info("no longer the Raft leader: stopping the leader unit")
                    await self._processor.step_down()
            await self._clock.sleep(self._period_s)

    async def _announce(self, term: int) -> bool:
        log.info("Raft elected this member in term %d: announcing", term)
        record = rec.Envelope(
            announce_leader=rec.AnnounceLeader(leader_id=self._leader_id, epoch=self._epoch)
        )
        try:
            await self._proposer.propose(record)
        except LogError as exc:  # lost the election again before it committed
            log.info("announcing leadership of term %d failed: %s", term, exc)
            return False
        log.info("Raft leader in term %d: announced", term)
        return True
