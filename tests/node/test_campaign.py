"""The campaign's trim advice (node/campaign.py): how far the leader lets every member trim.
Raft's view is faked at its narrow seam (status, partner progress); the rule is what is tested."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, cast

from log.lsn import MAX_RECORDS_PER_BATCH, make_lsn
from node.campaign import ABSENT_AFTER_S, ADVISE_EVERY_ENTRIES, RETAIN_ENTRIES, Campaign
from perdure_proto import records_pb2 as rec


@dataclass
class Status:
    commit_index: int
    term: int = 1
    self_address: str = "a:1"
    leader_address: str | None = "a:1"


@dataclass
class FakeRaft:
    commit: int
    progress: dict[str, tuple[int, bool]]

    def is_leader(self) -> bool:
        return True

    def leader_term(self) -> int | None:
        return 1

    def status(self) -> Status:
        return Status(self.commit)

    def partner_progress(self) -> dict[str, tuple[int, bool]]:
        return self.progress


@dataclass
class FakeProposer:
    proposed: list[int] = field(default_factory=list)

    async def propose(self, record: rec.Envelope) -> int:
        self.proposed.append(record.safe_trim.up_to_lsn)
        return 0


def campaign(raft: FakeRaft, proposer: FakeProposer) -> Campaign:
    return Campaign(cast(Any, raft), cast(Any, proposer), cast(Any, None), "a", 1)


def through(index: int) -> int:
    return make_lsn(index, MAX_RECORDS_PER_BATCH - 1)


async def test_trims_through_what_the_slowest_member_holds() -> None:
    raft, proposer = FakeRaft(1000, {"b:1": (900, True), "c:1": (700, True)}), FakeProposer()
    await campaign(raft, proposer)._advise_trim(1.0)
    assert proposer.proposed == [through(700)]


async def test_nothing_while_a_connected_members_progress_is_unknown() -> None:
    # Right after an election every match index is 0 until the member answers: trimming then
    # could drop what a live member lacks.
    raft, proposer = FakeRaft(1000, {"b:1": (900, True), "c:1": (0, True)}), FakeProposer()
    await campaign(raft, proposer)._advise_trim(ABSENT_AFTER_S * 10)
    assert proposer.proposed == []


async def test_a_down_member_is_waited_for_until_it_is_long_absent_or_far_behind() -> None:
    down = {"b:1": (900, True), "c:1": (0, False)}
    raft, proposer = FakeRaft(1000, down), FakeProposer()
    await campaign(raft, proposer)._advise_trim(ABSENT_AFTER_S / 2)
    assert proposer.proposed == []  # unheard of, but not for long: waited for
    await campaign(raft, proposer)._advise_trim(ABSENT_AFTER_S + 1)
    assert proposer.proposed == [through(900)]

    behind = FakeRaft(
        RETAIN_ENTRIES + 2000, {"b:1": (RETAIN_ENTRIES + 1500, True), "c:1": (10, False)}
    )
    proposer = FakeProposer()
    await campaign(behind, proposer)._advise_trim(1.0)
    assert proposer.proposed == [through(RETAIN_ENTRIES + 1500)]  # c needs a snapshot anyway


async def test_advice_only_moves_forward_and_an_idle_group_stays_idle() -> None:
    raft, proposer = FakeRaft(1000, {"b:1": (1000, True), "c:1": (1000, True)}), FakeProposer()
    c = campaign(raft, proposer)
    await c._advise_trim(1.0)
    raft.commit, raft.progress = 1001, {"b:1": (1001, True), "c:1": (1001, True)}  # its own entry
    await c._advise_trim(1.0)
    raft.commit = 1000 + ADVISE_EVERY_ENTRIES
    raft.progress = {"b:1": (raft.commit, True), "c:1": (raft.commit, True)}
    await c._advise_trim(1.0)
    assert proposer.proposed == [through(1000), through(1000 + ADVISE_EVERY_ENTRIES)]


async def test_a_single_member_group_is_never_advised() -> None:
    raft, proposer = FakeRaft(1000, {}), FakeProposer()
    await campaign(raft, proposer)._advise_trim(1.0)
    assert proposer.proposed == []
