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
from collections.abc import Callable

from log.api import Error as LogError
from log.lsn import MAX_RECORDS_PER_BATCH, make_lsn, raft_index_of
from log.raft import RaftLog
from node.clock import SYSTEM, Clock
from node.processor import PartitionProcessor
from node.proposer import Proposer
from perdure_proto import records_pb2 as rec

log = logging.getLogger(__name__)

PERIOD_S = 0.02  # how often Raft's role is looked at: bounds the added failover time
# ... in a group of one member, once it leads: nothing can take its leadership (there is no
# other member), so the campaign mostly sleeps (an idle node wakes 50 times a second less).
ALONE_PERIOD_S = 0.5
HAND_OVER_LINGER_S = 0.25
SAFE_TRIM_S = 1.0  # how often the leader tells the group how far every member may trim
RETAIN_ENTRIES = 50_000  # Raft entries kept for a lagging member; beyond, it needs a snapshot
# (the default of NodeOptions.trim_retain_entries)
ABSENT_AFTER_S = 60.0  # a member unheard of for this long in a leadership is not waited for
ADVISE_EVERY_ENTRIES = 16  # a new trim point only this far past the last (each is an entry)
BALANCE_S = 1.0  # how often a leader that is not its group's preferred one offers to hand over
BALANCE_AFTER_S = 5.0  # ... once it has led this long (not back to a member that just left)


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
        preferred: Callable[[], str | None] = lambda: None,
        retain_entries: int = RETAIN_ENTRIES,
    ) -> None:
        """`preferred()`: the Raft address of the member that should lead this group when it is
        up and has every entry (groups' preferred leaders are spread over the nodes, and an
        operator may move one: a PreferLeader record).
        `retain_entries`: how far a lagging member may fall behind before the others trim past
        it (it then catches up by snapshot)."""
        self._preferred = preferred
        self._retain_entries = retain_entries
        self._stopping = False
        self._advised = 0
        self._raft = raft
        self._me = raft.status().self_address
        self._proposer = proposer
        self._processor = processor
        self._leader_id = leader_id
        self._epoch = epoch
        self._clock = clock
        self._period_s = period_s

    async def run(self) -> None:
        """Until cancelled."""
        announced_term: int | None = None
        next_offer = next_trim = leading_since = 0.0
        while True:
            term = self._raft.leader_term()
            if term is not None:
                now = self._clock.monotonic()
                if term != announced_term and await self._announce(term):
                    announced_term, leading_since = term, now
                    # A member that just handed leadership over is on its way out: offering it
                    # back at once would bounce leadership to a member about to stop.
                    next_offer = now + BALANCE_AFTER_S
                if now >= next_trim:
                    await self._advise_trim(now - leading_since)
                    next_trim = now + SAFE_TRIM_S
                preferred = self._preferred()
                if (
                    preferred is not None
                    and preferred != self._me
                    and now >= next_offer
                    and not self._stopping
                    and preferred in self._raft.members()
                ):
                    # pysyncobj refuses unless the preferred member has every entry: offered
                    # again each BALANCE_S until it is back and caught up.
                    self._raft.transfer_leadership(preferred)
                    next_offer = now + BALANCE_S
            else:
                announced_term = None
                if self._processor.active:
                    log.info("no longer the Raft leader: stopping the leader unit")
                    await self._processor.step_down()
            # Until its leadership is announced, at PERIOD_S whatever the group.
            await self._clock.sleep(self._period_s if announced_term is not None else PERIOD_S)

    async def _advise_trim(self, leading_for_s: float) -> None:
        """Propose how far every member may trim: through the entry every member holds (Raft's
        match indexes), ignoring a member that lags more than `retain_entries` (it needs a
        snapshot anyway) or that has not been heard of since this leadership began
        ABSENT_AFTER_S ago. Nothing is proposed while a connected member's progress is unknown."""
        progress = self._raft.partner_progress()
        if not progress:
            return
        commit = self._raft.status().commit_index
        floor = commit
        for match, connected in progress.values():
            if match == 0:  # not heard from in this leadership
                if connected or leading_for_s < ABSENT_AFTER_S:
                    return
                continue
            if commit - match <= self._retain_entries:
                floor = min(floor, match)
        up_to = make_lsn(floor, MAX_RECORDS_PER_BATCH - 1)
        if floor < raft_index_of(self._advised) + ADVISE_EVERY_ENTRIES:
            return  # (an idle group stays idle: the SafeTrim record itself is one entry)
        try:
            await self._proposer.propose(rec.Envelope(safe_trim=rec.SafeTrim(up_to_lsn=up_to)))
            self._advised = up_to
        except LogError as exc:
            log.debug("advising a trim point failed: %s", exc)

    async def hand_over(self, timeout_s: float = 1.0) -> bool:
        """A planned shutdown: pass leadership to the most caught-up member and wait until
        Raft elected it (so no request waits out an election timeout). True if it moved."""
        self._stopping = True
        deadline = self._clock.monotonic() + timeout_s
        while self._clock.monotonic() < deadline:
            if self._raft.is_leader():
                self._raft.transfer_leadership(None)
            elif self._raft.leader_address() not in (None, self._me):
                # Elected elsewhere: linger one status poll of the other nodes' directories so
                # what they forward meanwhile still finds this member answering (with 503).
                await self._clock.sleep(HAND_OVER_LINGER_S)
                return True
            await self._clock.sleep(0.05)
        return not self._raft.is_leader()

    async def _announce(self, term: int) -> bool:
        log.info("Raft elected this member in term %d: announcing", term)
        record = rec.Envelope(
            announce_leader=rec.AnnounceLeader(
                leader_id=self._leader_id, epoch=self._epoch, term=term
            )
        )
        try:
            await self._proposer.propose(record)
        except LogError as exc:  # lost the election again before it committed
            log.info("announcing leadership of term %d failed: %s", term, exc)
            return False
        log.info("Raft leader in term %d: announced", term)
        return True
