"""Raft, simulated per group: terms, votes, who leads, what each member holds, and membership.

Theory of operation
-------------------
The group's committed sequence lives in sim/log.py (`GroupLog`); this module decides who may
add to it and who holds what, following Raft's rules at the granularity of a heartbeat tick:

* State per member: its term and vote (durable: pysyncobj fsyncs them), `held`, the index of
  the last committed entry its log holds (durable: its journal), whether it is alive (its
  process runs), and `leading`, the term in which it believes it leads (volatile).
* A term reaches every live member a member with a higher one can talk to (heartbeats, votes
  and their answers all carry it); a member that learns of a higher term while it leads steps
  down. A leader that cannot reach a majority of the voters for `LEADER_FALLBACK_S` steps down
  too (pysyncobj's leaderFallbackTimeout). A cut-off leader therefore keeps believing it leads
  for up to that long: appends through it wait (`GroupLog`) and then fail, never committed.
* A voter that has not heard from a leader for its election timeout (shorter on the group's
  preferred node, as in log/raft_options.py and node/campaign.py) stands in the next term; the
  voters it reaches grant their vote once per term, and only if its log holds at least what
  theirs does. A majority of the voters elects it. Since commits need a majority too, the
  winner holds every committed entry (checked).
* An entry commits only through the leader of the newest term, once a majority of the current
  voters (it among them) holds every earlier entry and is reachable: those then hold it. The
  others catch up from the leader at its ticks, unless the leader compacted past them: then
  they need a snapshot (`on_snapshot_needed`).
* Membership changes are Raft's single-server changes: one member added or removed at a time,
  only through a leader that reaches a majority of the new configuration; from then on that
  configuration decides every majority. An added member first follows as a learner (it
  receives entries and votes in nothing) and becomes a voter once it holds every entry.
* Leadership transfer (pysyncobj's TimeoutNow): the leader hands over to a voter that holds
  every entry and that it reaches; the target starts the next term at once.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Callable
from typing import Literal

from log.lsn import make_lsn
from log.raft import RaftStatus
from sim.nodes import Nodes
from sim.nodes import name as node_name
from sim.trace import Trace

TICK_S = 0.05  # pysyncobj's append_entries_period
LEADER_FALLBACK_S = 1.0
ELECTION_S = (0.25, 0.35)
PREFERRED_ELECTION_S = (0.15, 0.25)


class Violation(Exception):
    """The simulated Raft broke one of Raft's own rules (a bug of the simulation)."""


class Raft:
    def __init__(
        self, group: int, members: int, nodes: Nodes, rng: random.Random, trace: Trace
    ) -> None:
        self.group = group
        self.nodes = nodes
        self.voters: set[int] = set(range(members))
        self.learners: set[int] = set()
        self.term = 0  # the newest term a leader was elected in
        self.leader: int | None = None  # who won `term`
        self.known = [0] * members
        self.voted: list[tuple[int, int] | None] = [None] * members  # (term, candidate)
        self.held = [0] * members
        self.alive = [False] * members
        self.leading: list[int | None] = [None] * members
        self.last_index: Callable[[], int] = lambda: 0
        self.on_step_down: Callable[[int], None] = lambda member: None
        self.failures: list[str] = []
        self._rng = rng
        self._trace = trace
        self._heard = [0.0] * members
        self._timeout = [self._draw(m) for m in range(members)]
        self._quorum_at = [0.0] * members
        self._answered: set[int] = set()  # members heard by the leader in its current term

    # ------------------------------------------------------------------ questions

    def address(self, member: int) -> str:
        return f"{node_name(member)}:g{self.group}"

    def member_of(self, address: str | None) -> int | None:
        for m in range(len(self.known)):
            if self.address(m) == address:
                return m
        return None

    def reach(self, a: int, b: int) -> bool:
        """Whether members a and b can talk now."""
        return self.alive[a] and self.alive[b] and self.nodes.linked(a, b)

    def leads(self, member: int) -> bool:
        """Whether `member` believes it leads (appends through it are accepted)."""
        term = self.leading[member]
        return self.alive[member] and term is not None and term == self.known[member]

    def current_leader(self) -> int | None:
        """The leader of the newest term, if it still believes it leads."""
        if self.leader is not None and self.leading[self.leader] == self.term:
            return self.leader if self.leads(self.leader) else None
        return None

    def majority(self, member: int, index: int, voters: set[int] | None = None) -> bool:
        """Whether `member` reaches a majority of `voters` (the current ones by default) that
        hold every entry up to `index` (itself included)."""
        voters = self.voters if voters is None else voters
        holding = sum(
            1
            for v in voters
            if (v == member or self.reach(member, v)) and self.alive[v] and self.held[v] >= index
        )
        return 2 * holding > len(voters)

    def can_commit(self, member: int) -> bool:
        """Whether an entry appended through `member` commits now."""
        return (
            self.leads(member)
            and self.leading[member] == self.term
            and self.majority(member, self.last_index())
        )

    def committed(self, index: int, via: int) -> list[int]:
        """Entry `index` committed through `via`: who holds it now (checked: a majority)."""
        holders = []
        for m in sorted(self.voters | self.learners):
            if (m == via or self.reach(via, m)) and self.held[m] == index - 1:
                self.held[m] = index
                holders.append(m)
        if 2 * sum(1 for m in holders if m in self.voters) <= len(self.voters):
            self._fail(f"entry {index} committed on {holders} only, voters {sorted(self.voters)}")
        return holders

    def route(self, from_node: int) -> int | None:
        """The member a request entering at `from_node` is forwarded to: of the members that
        believe they lead and that this node reaches, the one of the newest term."""
        best: int | None = None
        for m in range(len(self.known)):
            newer = best is None or self.known[m] > self.known[best]
            if self.leads(m) and self.nodes.linked(from_node, m) and newer:
                best = m
        return best

    def status(self, member: int) -> RaftStatus:
        role: Literal["leader", "candidate", "follower"] = (
            "leader" if self.leads(member) else "follower"
        )
        leader = self.leader_of(member)
        return RaftStatus(
            self_address=self.address(member),
            partners=tuple(self.address(m) for m in sorted(self.voters) if m != member),
            role=role,
            leader_address=None if leader is None else self.address(leader),
            term=self.known[member],
            commit_index=self.last_index() if self.leads(member) else self.held[member],
            committed_lsn=make_lsn(self.held[member], 0) if self.held[member] else None,
        )

    def leader_of(self, member: int) -> int | None:
        """The member `member` believes leads (the leader of its term, if it heard of one)."""
        for m in range(len(self.known)):
            if self.leading[m] == self.known[member] and self.alive[m]:
                return m
        return None

    def progress(self, member: int) -> dict[str, tuple[int, bool]]:
        """On the leader: each other member's match index (0 until it answered in this term)
        and whether it is connected (log.raft.RaftLog.partner_progress)."""
        if not self.leads(member):
            return {}
        return {
            self.address(m): (self.held[m] if m in self._answered else 0, self.reach(member, m))
            for m in sorted(self.voters | self.learners)
            if m != member
        }

    # ------------------------------------------------------------------ changes

    def set_alive(self, member: int, alive: bool) -> None:
        self.alive[member] = alive
        if not alive and self.leading[member] is not None:
            self._step_down(member, "its process stopped")
        self.leading[member] = None
        if alive:
            self._heard[member] = self._now()
            self._timeout[member] = self._draw(member)

    def transfer(self, member: int, to: int | None) -> bool:
        """`member`, if it leads, hands leadership to `to` (None: any voter holding every
        entry) when `to` reaches it and holds every entry; True if it moved."""
        if not self.can_commit(member):
            return False
        last = self.last_index()
        ready = [
            v
            for v in sorted(self.voters)
            if v != member and self.reach(member, v) and self.held[v] == last
        ]
        if to is None and ready:
            to = ready[0]
        if to not in ready or to is None:
            return False
        self._event(f"transfer from {self.address(member)} to {self.address(to)}")
        self._elect(to, max(self.term, self.known[to]) + 1, {to, member})
        return True

    def remove(self, member: int) -> bool:
        """Remove voter `member` (a single-server change through the current leader)."""
        leader = self.current_leader()
        new = self.voters - {member}
        if member not in self.voters or leader is None or not new:
            return False
        if not self.majority(leader, self.last_index(), new):
            return False
        self.voters = new
        self.learners.discard(member)
        self._event(f"remove {self.address(member)}: voters {self._names(new)}")
        if member == leader:
            self._step_down(member, "it removed itself")
        return True

    def add_learner(self, member: int, held: int) -> None:
        """A fresh member (empty, or a snapshot through entry `held`) follows as a learner."""
        self.learners.add(member)
        self.known[member] = 0
        self.voted[member] = None
        self.held[member] = held
        self._event(f"learner {self.address(member)} from entry {held}")

    def promote(self, member: int) -> bool:
        """Make learner `member` a voter once it holds every entry (through the leader)."""
        leader = self.current_leader()
        if member not in self.learners or leader is None:
            return False
        if self.held[member] < self.last_index() or not self.reach(leader, member):
            return False
        new = self.voters | {member}
        if not self.majority(leader, self.last_index(), new):
            return False
        self.learners.discard(member)
        self.voters = new
        self.known[member] = max(self.known[member], self.known[leader])
        self._event(f"add {self.address(member)}: voters {self._names(new)}")
        return True

    def reset(self, member: int, held: int) -> None:
        """`member` installed a snapshot: its log resumes after entry `held`."""
        self.held[member] = held

    def tick(self) -> list[int]:
        """One heartbeat period: terms spread, leaders keep or lose their majority, timed-out
        voters stand. Returns the members the leader reaches (to catch them up)."""
        now = self._now()
        members = range(len(self.known))
        for a in members:
            for b in members:
                if self.reach(a, b) and self.known[b] < self.known[a]:
                    self._learn(b, self.known[a])
        reached: list[int] = []
        for m in members:
            if not self.leads(m):
                continue
            if self.majority(m, 0):
                self._quorum_at[m] = now
            elif now - self._quorum_at[m] > LEADER_FALLBACK_S:
                self._step_down(m, f"no majority for {LEADER_FALLBACK_S} s")
                continue
            for f in members:
                if f != m and self.reach(m, f) and self.known[f] == self.known[m]:
                    self._heard[f] = now
                    if m == self.current_leader():
                        self._answered.add(f)
                        reached.append(f)
        for m in sorted(self.voters):
            if self.alive[m] and not self.leads(m) and now - self._heard[m] > self._timeout[m]:
                self._stand(m)
        return reached

    # ------------------------------------------------------------------ internals

    def _stand(self, candidate: int) -> None:
        term = self.known[candidate] + 1
        self.known[candidate] = term
        self.voted[candidate] = (term, candidate)
        self._heard[candidate] = self._now()
        self._timeout[candidate] = self._draw(candidate)
        votes = {candidate}
        for v in sorted(self.voters):
            if v == candidate or not self.reach(candidate, v):
                continue
            if self.known[v] > term:
                continue
            self._learn(v, term)
            vote = self.voted[v]
            if vote is not None and vote[0] == term and vote[1] != candidate:
                continue
            if self.held[v] > self.held[candidate]:
                continue
            self.voted[v] = (term, candidate)
            self._heard[v] = self._now()
            votes.add(v)
        if 2 * len(votes) > len(self.voters):
            self._elect(candidate, term, votes)

    def _elect(self, member: int, term: int, informed: set[int]) -> None:
        if term <= self.term:
            self._fail(f"{self.address(member)} elected in term {term} after term {self.term}")
        if self.held[member] < self.last_index():
            self._fail(
                f"{self.address(member)} elected in term {term} holding entry "
                f"{self.held[member]} of {self.last_index()} committed"
            )
        for m in sorted(informed):
            self._learn(m, term)
        self.term, self.leader = term, member
        self.leading[member] = term
        self._quorum_at[member] = self._now()
        self._answered = set()
        self._event(f"{self.address(member)} leads in term {term}")

    def _learn(self, member: int, term: int) -> None:
        if term <= self.known[member]:
            return
        self.known[member] = term
        if self.leading[member] is not None:
            self._step_down(member, f"it saw term {term}")

    def _step_down(self, member: int, why: str) -> None:
        self.leading[member] = None
        self._heard[member] = self._now()
        self._event(f"{self.address(member)} steps down: {why}")
        self.on_step_down(member)

    def _draw(self, member: int) -> float:
        low, high = (
            PREFERRED_ELECTION_S if self.nodes.preferred(self.group) == member else ELECTION_S
        )
        return self._rng.uniform(low, high)

    def _names(self, members: set[int]) -> str:
        return ",".join(node_name(m) for m in sorted(members))

    def _fail(self, what: str) -> None:
        self.failures.append(f"raft g{self.group}: {what}")

    def _now(self) -> float:
        return asyncio.get_running_loop().time()

    def _event(self, what: str) -> None:
        self._trace.event(self._now(), f"raft g{self.group}: {what}")


class Handle:
    """One member's view of its group's Raft, as node.campaign.Campaign reads it (the methods
    of log.raft.RaftLog that the campaign calls)."""

    def __init__(self, raft: Raft, member: int) -> None:
        self._raft = raft
        self._member = member

    def status(self) -> RaftStatus:
        return self._raft.status(self._member)

    def is_leader(self) -> bool:
        return self._raft.leads(self._member)

    def term(self) -> int:
        return self._raft.known[self._member]

    def leader_term(self) -> int | None:
        return self.term() if self.is_leader() else None

    def leader_address(self) -> str | None:
        leader = self._raft.leader_of(self._member)
        return None if leader is None else self._raft.address(leader)

    def partner_progress(self) -> dict[str, tuple[int, bool]]:
        return self._raft.progress(self._member)

    def members(self) -> tuple[str, ...]:
        """The group's configuration (voters and learners), sorted."""
        raft = self._raft
        return tuple(sorted(raft.address(m) for m in raft.voters | raft.learners))

    def transfer_leadership(self, to: str | None = None) -> bool:
        if not self._raft.leads(self._member):
            return False
        target = self._raft.member_of(to)
        if to is not None and target is None:
            return False
        self._raft.transfer(self._member, target)
        return True
