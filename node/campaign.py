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
HAND_OVER_LINGER_S = 0.25
BALANCE_S = 1.0  # how often a leader that is not its group's preferred one offers to hand over


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
        preferred: str | None = None,
    ) -> None:
        """`preferred`: the Raft address of the member that should lead this group when it is
        up and has every entry (groups' preferred leaders are spread over the nodes)."""
        self._preferred = preferred
        self._stopping = False
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
        next_offer = 0.0
        while True:
            if self._raft.is_leader():
                term = self._raft.status().term
                if term != announced_term and await self._announce(term):
                    announced_term = term
                now = self._clock.monotonic()
                if (
                    self._preferred is not None
                    and self._preferred != self._raft.status().self_address
                    and now >= next_offer
                    and not self._stopping
                ):
                    # pysyncobj refuses unless the preferred member has every entry: offered
                    # again each BALANCE_S until it is back and caught up.
                    self._raft.transfer_leadership(self._preferred)
                    next_offer = now + BALANCE_S
            else:
                announced_term = None
                if self._processor.active:
                    log.info("no longer the Raft leader: stopping the leader unit")
                    await self._processor.step_down()
            await self._clock.sleep(self._period_s)

    async def hand_over(self, timeout_s: float = 1.0) -> bool:
        """A planned shutdown: pass leadership to the most caught-up member and wait until
        Raft elected it (so no request waits out an election timeout). True if it moved."""
        self._stopping = True
        deadline = self._clock.monotonic() + timeout_s
        me = self._raft.status().self_address
        while self._clock.monotonic() < deadline:
            if self._raft.is_leader():
                self._raft.transfer_leadership(None)
            elif self._raft.status().leader_address not in (None, me):
                # Elected elsewhere: linger one status poll of the other nodes' directories so
                # what they forward meanwhile still finds this member answering (with 503).
                await self._clock.sleep(HAND_OVER_LINGER_S)
                return True
            await self._clock.sleep(0.05)
        return not self._raft.is_leader()

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
